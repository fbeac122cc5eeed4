/**
 * `critap export <rec> --format otlp` as a user runs it: a child process sends the recording's
 * calls to a real OTLP/gRPC receiver; each span's start and duration equal the recorded ones,
 * and `critap stats --json` reports the same durations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRecording } from '../../src/record/writer.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { POD, RUNTIME, makeCall, podStartCalls } from '../support/telemetry-calls.js';
import { freePort } from '../support/registry.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));

/** Async on purpose: the receiver lives in this process and must keep answering while the child runs. */
function critap(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, OTEL_SERVICE_NAME: '' } }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}


const SANDBOX = 'a'.repeat(64);
const CONTAINER = 'b'.repeat(64);

async function makeRecording(t: import('node:test').TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'critap-export-otlp-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const calls = [
    makeCall({ method: `${RUNTIME}/Version`, request: { version: 'v1' }, response: { version: '0.1.0', runtime_name: 'containerd' } }),
    ...podStartCalls(SANDBOX, CONTAINER),
    makeCall({ method: `${RUNTIME}/Version`, request: { version: 'v1' }, response: { version: '0.1.0' } }),
    makeCall({
      method: `${RUNTIME}/ContainerStatus`,
      request: { container_id: 'f'.repeat(64) },
      status: { code: 5, message: 'container "fff…" not found' },
    }),
  ];
  // Odd starts and durations, none a whole number of ms or µs: any rounding on the way would show.
  calls.forEach((c, i) => {
    c.startNs = 1_750_000_000_000_000_003n + BigInt(i) * 2_000_000_011n;
    c.durationNs = 3_456_789 + i * 1_000_037;
  });
  const writer = await createRecording(dir);
  await writer.append(...calls);
  await writer.close();
  return { dir, calls };
}

test('critap export --format otlp: spans carry the recorded start and duration, and stats agrees', async (t) => {
  const { dir, calls } = await makeRecording(t);
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());

  const out = await critap(
    'export', dir, '--format', 'otlp', '--otlp-endpoint', receiver.url,
    '--service-name', 'critap-ci', '--upstream', 'unix:///run/containerd/containerd.sock', '--traces', 'call',
  );
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, '', 'spans go to the collector, nothing to stdout');
  assert.equal(receiver.spans.length, calls.length);

  const byStart = new Map(receiver.spans.map((s) => [s.startNs, s]));
  for (const call of calls) {
    const span = byStart.get(call.startNs);
    assert.ok(span, `a span starts exactly at ${call.method}'s recorded start`);
    assert.equal(span.name, call.method.slice(1));
    assert.equal(span.endNs - span.startNs, BigInt(call.durationNs), `${call.method}: duration`);
    assert.equal(span.resource['service.name'], 'critap-ci');
    assert.equal(span.attributes['server.address'], '/run/containerd/containerd.sock');
    assert.equal(span.attributes['rpc.grpc.status_code'], call.status.code);
  }
  const start = receiver.spans.find((s) => s.name.endsWith('/StartContainer'))!;
  assert.equal(start.attributes['k8s.pod.name'], POD.name, 'StartContainer linked to its pod from the recording');
  const failed = receiver.spans.find((s) => s.name.endsWith('/ContainerStatus'))!;
  assert.equal(failed.status.code, 2, 'an error call has span status ERROR');
  assert.match(failed.status.message, /not found/);

  // critap stats and the spans: same durations, per method (ms, rounded to µs as stats prints them).
  const stats = await critap('stats', dir, '--json');
  assert.equal(stats.code, 0, stats.stderr);
  const methods = (JSON.parse(stats.stdout) as { methods: { method: string; calls: number; maxMs: number; p50Ms: number; errors: number }[] }).methods;
  assert.equal(methods.reduce((n, m) => n + m.calls, 0), receiver.spans.length);
  const r3 = (ms: number) => Math.round(ms * 1000) / 1000;
  for (const m of methods) {
    const spans = receiver.spans.filter((s) => `/${s.name}` === m.method);
    assert.equal(spans.length, m.calls, m.method);
    const durationsMs = spans.map((s) => Number(s.endNs - s.startNs) / 1e6).sort((a, b) => a - b);
    assert.equal(r3(durationsMs[durationsMs.length - 1]!), m.maxMs, `${m.method}: max`);
    assert.equal(r3(durationsMs[Math.ceil(durationsMs.length / 2) - 1]!), m.p50Ms, `${m.method}: p50`);
    assert.equal(spans.filter((s) => s.status.code === 2).length, m.errors, `${m.method}: errors`);
  }
});

test('critap export --format otlp: filters select the spans sent', async (t) => {
  const { dir } = await makeRecording(t);
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const out = await critap('export', dir, '--format', 'otlp', '--otlp-endpoint', receiver.url, '--method', 'Version', '--traces', 'call');
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(receiver.spans.map((s) => s.name), ['runtime.v1.RuntimeService/Version', 'runtime.v1.RuntimeService/Version']);
  assert.equal(receiver.spans[0]!.resource['service.name'], 'critap', 'default service name');
});

test('critap export --format otlp: usage mistakes and a refusing collector give clear errors', async (t) => {
  const { dir } = await makeRecording(t);
  const noEndpoint = await critap('export', dir, '--format', 'otlp');
  assert.equal(noEndpoint.code, 2);
  assert.match(noEndpoint.stderr, /--format otlp needs --otlp-endpoint/);

  const notUrl = await critap('export', dir, '--format', 'otlp', '--otlp-endpoint', 'collector 4317');
  assert.equal(notUrl.code, 2);
  assert.match(notUrl.stderr, /--otlp-endpoint wants a URL like http:\/\/127\.0\.0\.1:4317, got "collector 4317"/);

  const withOut = await critap('export', dir, '--format', 'otlp', '--otlp-endpoint', 'http://127.0.0.1:4317', '--out', 'x.jsonl');
  assert.equal(withOut.code, 2);
  assert.match(withOut.stderr, /--out is for file formats/);

  const stray = await critap('export', dir, '--otlp-endpoint', 'http://127.0.0.1:4317');
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--otlp-endpoint only applies to --format otlp/);

  const badUpstream = await critap('export', dir, '--format', 'otlp', '--otlp-endpoint', 'http://127.0.0.1:4317', '--upstream', 'ftp://x');
  assert.equal(badUpstream.code, 2, 'a malformed endpoint is a usage error like any other');
  assert.match(badUpstream.stderr, /^critap export: /);

  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  receiver.failWith = 3; // INVALID_ARGUMENT: the exporter does not retry it
  const refused = await critap('export', dir, '--format', 'otlp', '--otlp-endpoint', receiver.url);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^critap export: OTLP export to http:\/\/127\.0\.0\.1:\d+ failed/);

  const downPort = await freePort();
  const down = await critap('export', dir, '--format', 'otlp', '--otlp-endpoint', `http://127.0.0.1:${downPort}`);
  assert.equal(down.code, 1, 'a collector that is down fails the export: a recording export must not lose spans quietly');
  assert.match(down.stderr, /^critap export: OTLP export to http:\/\/127\.0\.0\.1:\d+ failed: .*UNAVAILABLE/);

  const help = await critap('export', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /critap export \.\/rec --format otlp --otlp-endpoint http:\/\/127\.0\.0\.1:4317/);
});

test('critap export --format otlp: one trace per pod life, calls of no pod per client window, traceparent as a link, the recorded node as host.name', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'critap-export-life-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const KUBELET_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const KUBELET_SPAN = '00f067aa0ba902b7';
  const traced: [string, string][] = [['traceparent', `00-${KUBELET_TRACE}-${KUBELET_SPAN}-01`]];
  const calls = [
    makeCall({ method: `${RUNTIME}/Version`, request: { version: 'v1' }, response: { version: '0.1.0' } }),
    ...podStartCalls(SANDBOX, CONTAINER, traced),
    makeCall({ method: `${RUNTIME}/ListPodSandbox`, request: {}, response: {} }),
    makeCall({ method: `${RUNTIME}/ContainerStatus`, request: { container_id: CONTAINER }, response: {} }),
    makeCall({ method: `${RUNTIME}/StopContainer`, request: { container_id: CONTAINER }, response: {} }),
    makeCall({ method: `${RUNTIME}/StopPodSandbox`, request: { pod_sandbox_id: SANDBOX }, response: {} }),
    makeCall({ method: `${RUNTIME}/RemovePodSandbox`, request: { pod_sandbox_id: SANDBOX }, response: {} }),
  ];
  const writer = await createRecording(dir);
  await writer.append(...calls);
  await writer.close();
  // As if recorded on another node: the manifest names it.
  const manifestPath = join(dir, 'critap-recording.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { host?: string };
  assert.equal(typeof manifest.host, 'string', 'new recordings say which node they were made on');
  await writeFile(manifestPath, JSON.stringify({ ...manifest, host: 'node-a-recorded' }));

  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const out = await critap('export', dir, '--format', 'otlp', '--otlp-endpoint', receiver.url);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, new RegExp(`sent ${calls.length + 2} spans in 2 traces \\(1 pod lives, 1 client windows\\)`));
  assert.equal(receiver.spans.length, calls.length + 2);
  for (const s of receiver.spans) assert.equal(s.resource['host.name'], 'node-a-recorded', `${s.name}: the node recorded`);

  const root = receiver.spans.find((s) => s.name === `pod ${POD.namespace}/${POD.name}`);
  assert.ok(root, 'a root span for the pod');
  assert.equal(root.parentSpanId, '');
  const [run, remove] = [calls[1]!, calls[calls.length - 1]!];
  assert.equal(root.startNs, run.startNs, 'from RunPodSandbox');
  assert.equal(root.endNs, remove.startNs + BigInt(remove.durationNs), 'to the end of RemovePodSandbox');
  assert.equal(root.attributes['k8s.pod.uid'], POD.uid);
  assert.equal(root.attributes['critap.calls'], 7);

  const podCalls = receiver.spans.filter((s) => s.traceId === root.traceId && s !== root);
  assert.deepEqual(podCalls.map((s) => s.name.split('/').pop()).sort(), ['ContainerStatus', 'CreateContainer', 'RemovePodSandbox', 'RunPodSandbox', 'StartContainer', 'StopContainer', 'StopPodSandbox']);
  for (const s of podCalls) assert.equal(s.parentSpanId, root.spanId, `${s.name}: a child of its pod's life`);
  const started = podCalls.find((s) => s.name.endsWith('/StartContainer'))!;
  assert.deepEqual(started.links.map((l) => [l.traceId, l.spanId]), [[KUBELET_TRACE, KUBELET_SPAN]], 'the kubelet\'s span, linked');
  assert.deepEqual(podCalls.find((s) => s.name.endsWith('/StopContainer'))!.links, []);

  const window = receiver.spans.find((s) => s.name === 'calls of kubelet');
  assert.ok(window, 'calls of no pod grouped per client');
  const windowCalls = receiver.spans.filter((s) => s.traceId === window.traceId && s !== window).map((s) => s.name.split('/').pop());
  assert.deepEqual(windowCalls.sort(), ['ListPodSandbox', 'Version']);

  // A recording that predates the host field: said, and host.name left out rather than this machine's.
  await writeFile(manifestPath, JSON.stringify({ ...manifest, host: undefined }));
  receiver.spans.length = 0;
  const old = await critap('export', dir, '--format', 'otlp', '--otlp-endpoint', receiver.url, '--method', 'Version');
  assert.equal(old.code, 0, old.stderr);
  assert.match(old.stderr, /does not say which node it was recorded on: host\.name left out \(--host-name sets it\)/);
  assert.ok(receiver.spans.length > 0 && receiver.spans.every((s) => s.resource['host.name'] === undefined));
});
