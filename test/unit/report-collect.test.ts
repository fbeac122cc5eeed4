import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallRecord } from '../../src/call.js';
import { extractIds } from '../../src/cri/ids.js';
import { decodeMessage } from '../../src/cri/codec.js';
import { lookupMethod } from '../../src/cri/methods.js';
import { StatsCollector } from '../../src/record/call-stats.js';
import type { StoredCall } from '../../src/record/stored-call.js';
import { ReportBuilder, DEFAULT_LIMITS } from '../../src/report/collect.js';
import { renderReport } from '../../src/report/html/page.js';
import { jsonForScript } from '../../src/report/html/escape.js';
import { bucketOf, HISTOGRAM_EDGES_MS } from '../../src/report/histogram.js';
import { MAX_RELIST_POINTS } from '../../src/report/pleg.js';
import { createContainer, makeCall, runPodSandbox, startContainer, T0, V1, versionCall } from './record-fixtures.js';

const MS = 1_000_000n;

/** A stored call as the reader gives it: ids found the way the recorder finds them. */
function stored(call: CallRecord, i: number): StoredCall {
  const info = lookupMethod(call.method)!;
  const req = decodeMessage(info.requestType, call.requests[0]!.data) as Record<string, unknown>;
  const res = call.responses[0] ? (decodeMessage(info.responseType, call.responses[0].data) as Record<string, unknown>) : undefined;
  return { ...call, key: `c${String(call.startNs).padStart(20, '0')}.${i}`, ids: extractIds(info, req, res) };
}

function relist(at: bigint, durationNs = 2_000_000): CallRecord[] {
  return [
    makeCall({ method: V1 + 'ListPodSandbox', startNs: at, durationNs }),
    makeCall({ method: V1 + 'ListContainers', startNs: at + BigInt(durationNs) + 100_000n, durationNs }),
  ];
}

function build(calls: CallRecord[], limits = DEFAULT_LIMITS) {
  const b = new ReportBuilder(limits, 1000);
  const s = new StatsCollector();
  calls.forEach((c, i) => {
    const sc = stored(c, i);
    b.add(sc);
    s.add(sc);
  });
  return { data: b.result('rec', ''), stats: s.result() };
}

test('a pod life: method figures are the stats figures, one lane with its container, ready time, runtime, client', () => {
  const deadline = makeCall({ method: V1 + 'ContainerStatus', request: { containerId: 'ctr-1' }, code: 4, startNs: T0 + 90n * MS, durationNs: 2_000_000_000 });
  const notFound = makeCall({ method: V1 + 'StopContainer', request: { containerId: 'ctr-9' }, code: 5, startNs: T0 + 80n * MS });
  const calls = [
    versionCall(T0),
    runPodSandbox('sb-1', T0 + 10n * MS),
    createContainer('sb-1', 'ctr-1', T0 + 20n * MS),
    startContainer('ctr-1', T0 + 30n * MS),
    ...relist(T0 + 40n * MS),
    notFound,
    deadline,
  ];
  const { data, stats } = build(calls);
  assert.deepEqual(data.methods.map(({ histogram: _h, ...m }) => m), stats);
  for (const m of data.methods) assert.equal(m.histogram.reduce((a, b) => a + b, 0), m.calls);
  assert.equal(data.summary.calls, calls.length);
  assert.equal(data.summary.errors, 2);
  assert.deepEqual(data.summary.errorsByCode, { NOT_FOUND: 1, DEADLINE_EXCEEDED: 1 });
  assert.deepEqual(data.summary.runtime, { name: 'containerd', version: 'v2.1.0', apiVersion: 'v1' });
  assert.deepEqual(data.summary.clients, [{ name: 'kubelet', calls: calls.length }]);

  assert.equal(data.pods.length, 1);
  const lane = data.pods[0]!;
  assert.equal(lane.name, 'nginx');
  assert.equal(lane.sandboxId, 'sb-1');
  assert.deepEqual(lane.bars.map((b) => b.method), ['RunPodSandbox']);
  assert.deepEqual(lane.containers.map((c) => [c.id, c.name, c.bars.map((b) => b.method)]), [['ctr-1', 'app', ['CreateContainer', 'StartContainer', 'ContainerStatus']]]);
  // RunPodSandbox at +10 ms, StartContainer ends at +30 ms + 0.412345 ms.
  assert.equal(lane.readyMs, 20.412);
  assert.equal(lane.containers[0]!.bars[2]!.error, 'DEADLINE_EXCEEDED');

  assert.deepEqual(data.failed.map((r) => r.status), ['DEADLINE_EXCEEDED', 'NOT_FOUND']);
  assert.equal(data.failed[0]!.pod, 0);
  assert.equal(data.failed[1]!.pod, undefined);
  assert.equal(data.slowest[0]!.method, 'ContainerStatus');
  assert.equal(data.sequences.length, 1);
  assert.deepEqual(data.sequences[0]!.steps.map((s) => s.method), ['RunPodSandbox', 'CreateContainer', 'StartContainer', 'ContainerStatus']);
  // Every call the page can open has its decoded body.
  for (const s of data.sequences[0]!.steps) assert.ok(data.details[s.call], `details of call ${s.call}`);
  assert.deepEqual((data.details[2]!.request as { config: { metadata: { name: string } } }).config.metadata.name, 'nginx');

  assert.equal(data.pleg.relists, 1);
  assert.equal(data.pleg.points![0]!.calls, 2);
  assert.equal(data.pleg.points![0]!.durationMs, 4.1);
});

test('PLEG: slow relists are marked, cadence is the gap between starts, many relists become buckets', () => {
  const filtered = makeCall({ method: V1 + 'ListPodSandbox', request: { filter: { state: { state: 0 } } }, startNs: T0 + 2000n * MS, durationNs: 5_000_000_000 });
  const calls = [...relist(T0), ...relist(T0 + 1000n * MS, 1_500_000_000), filtered, ...relist(T0 + 4000n * MS)];
  const { data } = build(calls);
  assert.equal(data.pleg.relists, 3, 'a filtered ListPodSandbox is no relist');
  assert.equal(data.pleg.slow, 1);
  assert.deepEqual(data.pleg.points!.map((p) => p.gapMs), [undefined, 1000, 3000]);

  const many: CallRecord[] = [];
  for (let i = 0; i < MAX_RELIST_POINTS + 10; i++) many.push(...relist(T0 + BigInt(i) * 1000n * MS));
  const big = build(many).data;
  assert.equal(big.pleg.relists, MAX_RELIST_POINTS + 10);
  assert.equal(big.pleg.points, undefined);
  assert.equal(big.pleg.buckets!.reduce((n, b) => n + b.relists, 0), MAX_RELIST_POINTS + 10);
});

test('large recordings: lanes, bars, failed rows and decoded bodies stay within the limits', () => {
  const limits = { ...DEFAULT_LIMITS, lanes: 3, barsPerLane: 5, sequencePods: 2, sequenceCalls: 4, failed: 7 };
  const calls: CallRecord[] = [];
  let t = T0;
  for (let p = 0; p < 6; p++) {
    calls.push(runPodSandbox(`sb-${p}`, (t += MS), `pod-${p}`));
    for (let i = 0; i < 20; i++) calls.push(makeCall({ method: V1 + 'PodSandboxStatus', request: { podSandboxId: `sb-${p}` }, code: i % 2 ? 14 : 0, startNs: (t += MS) }));
    calls.push(makeCall({ method: V1 + 'StopPodSandbox', request: { podSandboxId: `sb-${p}` }, startNs: (t += MS) }));
  }
  const { data } = build(calls, limits);
  assert.equal(data.pods.length, 3);
  assert.equal(data.podsNotDrawn, 3);
  for (const lane of data.pods) {
    assert.equal(lane.calls, 22);
    // Life-cycle calls are kept beyond the cap.
    assert.deepEqual(lane.bars.map((b) => b.method).filter((m) => m !== 'PodSandboxStatus'), ['RunPodSandbox', 'StopPodSandbox']);
    assert.equal(lane.bars.length + lane.omitted, 22);
  }
  assert.equal(data.failed.length, 7);
  assert.equal(data.failedTotal, 60);
  assert.equal(data.sequences.length, 2);
  assert.deepEqual(data.sequences.map((s) => [s.steps.length, s.omitted]), [[4, 18], [4, 18]]);
  const opened = new Set([...data.sequences.flatMap((s) => s.steps.map((x) => x.call)), ...data.failed.map((r) => r.call), ...data.slowest.map((r) => r.call)]);
  assert.deepEqual(new Set(Object.keys(data.details).map(Number)), opened);
});

test('the page: text from the recording is escaped, the JSON block cannot end the script early', () => {
  const evil = '</script><img src=x onerror=alert(1)>';
  const calls = [runPodSandbox('sb-1', T0, evil), makeCall({ method: V1 + 'StopPodSandbox', request: { podSandboxId: 'sb-1' }, code: 2, startNs: T0 + MS })];
  calls[1]!.status.message = evil;
  const html = renderReport(build(calls).data, 'test');
  assert.doesNotMatch(html, /<img src=x/);
  assert.equal(html.split('</script>').length - 1, 2, 'only the two script elements close');
  assert.doesNotMatch(jsonForScript({ a: '</script>' }), /<\/script>/);
  assert.doesNotMatch(html, /https?:\/\//, 'nothing to fetch');
});

test('histogram buckets: edges are inclusive, the last bucket is open', () => {
  assert.equal(bucketOf(0), 0);
  assert.equal(bucketOf(0.1), 0);
  assert.equal(bucketOf(0.11), 1);
  assert.equal(bucketOf(10_000), HISTOGRAM_EDGES_MS.length - 1);
  assert.equal(bucketOf(10_001), HISTOGRAM_EDGES_MS.length);
});
