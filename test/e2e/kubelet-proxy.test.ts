/**
 * A real standalone kubelet (../shared/bin/kubelet, KubeletTracing on) runs THE static pod
 * (test/support/static-pod.ts) twice on one private containerd: first straight at containerd,
 * then through `critap proxy --record --otlp-endpoint`. Through critap the pod runs, is Ready
 * (exec probe passed), answers HTTP on its pod IP and stops when its manifest goes; the kubelet
 * logs no kind of CRI error the direct run did not; every recorded call carries the kubelet's
 * traceparent; every critap span is the child of the kubelet's CLIENT span for that call.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'node:test';
import { openRecording } from '../../src/record/index.js';
import { callView } from '../../src/record/call-view.js';
import type { StoredCall } from '../../src/record/stored-call.js';
import { binariesOrSkip } from '../support/binaries.js';
import { startCliProxy } from '../support/cli-proxy.js';
import { makeCriClient } from '../support/cri-client.js';
import { tempSocketPath } from '../support/fake-upstream.js';
import { startKubelet } from '../support/kubelet.js';
import { criErrorKinds } from '../support/kubelet-log.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { realRuntimeOrSkip, type RealRuntime } from '../support/runtime.js';
import { STATIC_POD } from '../support/static-pod.js';
import { runStaticPodLife, type PodLife } from '../support/static-pod-life.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;
/** The kubelet exports spans in batches (every 5 s) and drops the last batch on SIGTERM. */
const UNFLUSHED_WINDOW_NS = 10_000_000_000n;
const CLIENT = 3;
const SERVER = 2;

interface Run {
  life: PodLife;
  log: string;
  stoppedAtNs: bigint;
}

async function kubeletRun(rt: RealRuntime, binary: string, endpoint: string, receiver: OtlpReceiver, waitForSpan?: string): Promise<Run> {
  const runtime = makeCriClient(rt.endpoint);
  const kubelet = await startKubelet({
    binary,
    endpoint,
    cleanupEndpoint: rt.endpoint,
    nodeName: STATIC_POD.nodeName,
    podInfraImage: rt.sandboxImage,
    tracing: { otlpEndpoint: receiver.url },
  });
  try {
    const life = await runStaticPodLife({ kubelet, image: rt.registry.image, runtime });
    // Let the kubelet's batch holding its StopPodSandbox span go out: what is left unflushed is then only the last seconds.
    if (waitForSpan) await receiver.waitFor(`the kubelet's ${waitForSpan} span`, () => kubeletSpans(receiver).find((s) => s.name.endsWith(`/${waitForSpan}`)), 15_000);
    const stoppedAtNs = BigInt(Date.now()) * 1_000_000n;
    await kubelet.stop();
    return { life, log: kubelet.log(), stoppedAtNs };
  } finally {
    await kubelet.stop();
    runtime.close();
  }
}

const kubeletSpans = (r: OtlpReceiver): ReceivedSpan[] => r.spans.filter((s) => s.resource['service.name'] === 'kubelet' && s.kind === CLIENT);
const critapSpans = (r: OtlpReceiver): ReceivedSpan[] => r.spans.filter((s) => s.resource['service.name'] === 'critap');
const methodOf = (name: string): string => name.split('/').pop()!;

function assertPodLived(life: PodLife, how: string): void {
  assert.equal(life.httpStatus, 200, `${how}: httpd on the pod IP answers`);
  assert.equal(life.httpBody, STATIC_POD.indexText, `${how}: httpd serves the pod's page`);
  const names = (life.readyPod.status?.containerStatuses ?? []).map((c) => c.name).sort();
  assert.deepEqual(names, [STATIC_POD.httpdContainer, STATIC_POD.sleepContainer].sort(), `${how}: both containers run`);
}

test('a standalone kubelet runs its static pod through critap proxy --record --otlp-endpoint as it does straight at containerd', { timeout: 240_000 }, async (t) => {
  const bins = binariesOrSkip(t, 'kubelet');
  if (!bins) return;
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const root = await mkdtemp(join(tmpdir(), 'critap-kubelet-e2e-'));
  t.after(() => rm(root, { recursive: true, force: true }));

  // Direct: the baseline of what this kubelet logs for this pod on this machine.
  const directReceiver = await startOtlpReceiver();
  t.after(() => directReceiver.close());
  const direct = await kubeletRun(rt, bins.kubelet, rt.endpoint, directReceiver);
  assertPodLived(direct.life, 'direct');

  // Through critap, recording and tracing to the same kind of collector the kubelet sends to.
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const recDir = join(root, 'rec');
  const listen = tempSocketPath('critap-kubelet');
  t.after(() => rm(dirname(listen), { recursive: true, force: true }));
  const proxy = await startCliProxy(['--listen', listen, '--upstream', rt.endpoint, '--record', recDir, '--otlp-endpoint', receiver.url]);
  t.after(() => proxy.stop('SIGKILL'));
  const through = await kubeletRun(rt, bins.kubelet, proxy.endpoint, receiver, 'StopPodSandbox');
  assert.equal(await proxy.stop('SIGTERM'), 0, 'critap flushes its recording and spans and exits 0');
  assertPodLived(through.life, 'through critap');

  for (const [how, run] of [['direct', direct], ['through critap', through]] as const) {
    assert.match(run.log, /SyncLoop ADD/, `${how}: the kubelet's log was read (its static pod arrived)`);
  }
  const extraErrors = criErrorKinds(through.log).filter((k) => !criErrorKinds(direct.log).includes(k));
  assert.deepEqual(extraErrors, [], 'no kind of CRI error the direct run did not log');

  // The recording: the pod's whole life, every call carrying the kubelet's traceparent.
  const rec = await openRecording(recDir);
  const calls: StoredCall[] = [];
  try {
    for await (const c of rec.calls()) calls.push(c);
  } finally {
    await rec.close();
  }
  const count = (m: string) => calls.filter((c) => methodOf(c.method) === m).length;
  assert.equal(count('RunPodSandbox'), 1, 'the pod started once');
  assert.equal(count('CreateContainer'), 2);
  assert.equal(count('StartContainer'), 2);
  assert.ok(count('StopPodSandbox') >= 1, 'deleting the manifest stopped the pod through critap');
  const probes = calls.filter((c) => methodOf(c.method) === 'ExecSync').map((c) => callView(c).response as { exit_code?: number } | undefined);
  assert.ok(probes.some((r) => (r?.exit_code ?? 0) === 0), 'an exec probe passed (ExecSync exit code 0)');
  const traceparents = calls.map((c) => c.requestMetadata.find(([k]) => k === 'traceparent')?.[1]);
  const without = calls.filter((_, i) => !TRACEPARENT.test(traceparents[i] ?? '')).map((c) => methodOf(c.method));
  assert.deepEqual(without, [], 'every recorded call carries a traceparent');

  // Spans: one critap SERVER span per call, each the child of the kubelet's CLIENT span for it.
  const mine = critapSpans(receiver);
  assert.equal(mine.length, calls.length, 'one critap span per recorded call');
  const theirs = new Map(kubeletSpans(receiver).map((s) => [`${s.traceId}/${s.spanId}`, s]));
  const unmatched: ReceivedSpan[] = [];
  for (const s of mine) {
    assert.equal(s.kind, SERVER);
    const parent = theirs.get(`${s.traceId}/${s.parentSpanId}`);
    if (!parent) {
      unmatched.push(s);
      continue;
    }
    assert.equal(parent.name, s.name, `the kubelet's span for ${s.name} is for the same method`);
  }
  const late = unmatched.filter((s) => s.startNs < through.stoppedAtNs - UNFLUSHED_WINDOW_NS);
  assert.deepEqual(late.map((s) => s.name), [], `only the kubelet's last unflushed seconds may lack a parent (${unmatched.length} of ${mine.length} do)`);
  // The calls that made the pod are old enough to be flushed: their parents must be there.
  for (const m of ['RunPodSandbox', 'CreateContainer', 'StartContainer', 'StopPodSandbox']) {
    assert.ok(mine.some((s) => methodOf(s.name) === m && theirs.has(`${s.traceId}/${s.parentSpanId}`)), `${m}: the kubelet's span and critap's, parent and child`);
  }
  t.diagnostic(`CRI error kinds logged: direct ${JSON.stringify(criErrorKinds(direct.log))}, through critap ${JSON.stringify(criErrorKinds(through.log))}`);
  t.diagnostic(`direct: ready ${direct.life.readyMs} ms, stopped ${direct.life.stopMs} ms; through critap: ready ${through.life.readyMs} ms, stopped ${through.life.stopMs} ms; ${calls.length} calls, ${unmatched.length} spans past the kubelet's last flush`);
});
