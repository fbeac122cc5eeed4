/**
 * `--otlp-metrics`: the proxy pushes its metrics over OTLP/gRPC to the collector at the OTLP
 * endpoint, every OTEL_METRIC_EXPORT_INTERVAL ms. Real calls go through a real proxy (observer
 * thread included) in front of a fake runtime; the test collector (test/support/otlp-receiver.ts)
 * decodes what arrives. A collector that is down must not touch forwarding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { encodeMessage } from '../../src/cri/codec.js';
import { startObservedProxy } from '../../src/proxy/observed-proxy.js';
import { DURATION_BUCKETS_SECONDS, LABEL, METRIC } from '../../src/telemetry/names.js';
import { VERSION as CRITAP_VERSION } from '../../src/version.js';
import { startCliProxy } from '../support/cli-proxy.js';
import { rawClient, startFakeUpstream, tempSocketPath, unaryCall, type UnaryHandler } from '../support/fake-upstream.js';
import { CUMULATIVE, latestMetric, pointWith, type ReceivedMetric } from '../support/otlp-metrics.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { freePort } from '../support/registry.js';

// node --test runs each file in its own process: this environment is the test's own. The
// observer thread copies process.env when it starts, so it is set before any proxy starts.
for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
process.env.OTEL_METRIC_EXPORT_INTERVAL = '200';
process.env.OTEL_SERVICE_NAME = 'critap-metrics-test';

const SERVICE = 'runtime.v1.RuntimeService';
const VERSION = `/${SERVICE}/Version`;
const STATUS = `/${SERVICE}/ContainerStatus`;
const LIST = `/${SERVICE}/ListContainers`;

const versionRequest = encodeMessage('runtime.v1.VersionRequest', { version: '0.1.0' });
const versionResponse = encodeMessage('runtime.v1.VersionResponse', {
  version: '0.1.0',
  runtimeName: 'fake',
  runtimeVersion: '1.0.0',
  runtimeApiVersion: 'v1',
});
const statusRequest = encodeMessage('runtime.v1.ContainerStatusRequest', { containerId: 'gone' });
const listRequest = encodeMessage('runtime.v1.ListContainersRequest', {});
const listResponse = encodeMessage('runtime.v1.ListContainersResponse', { containers: [{ id: 'c1', podSandboxId: 'p1' }] });

/** How long the held ListContainers call stays open at least: it must land above the 0.05 s bucket. */
const HOLD_MS = 60;

const labels = (method: string, code?: string) => ({
  [LABEL.service]: SERVICE,
  [LABEL.method]: method,
  ...(code ? { [LABEL.code]: code } : {}),
});

/** Metrics of the newest Export that carried the duration histogram, by name (one request: one consistent snapshot). */
function newestSnapshot(metrics: readonly ReceivedMetric[]): Map<string, ReceivedMetric> | undefined {
  const last = latestMetric(metrics, METRIC.duration);
  if (!last) return undefined;
  return new Map(metrics.filter((m) => m.request === last.request).map((m) => [m.name, m]));
}

function metric(snapshot: Map<string, ReceivedMetric>, name: string): ReceivedMetric {
  const m = snapshot.get(name);
  assert.ok(m, `no ${name} in the export; got ${[...snapshot.keys()].join(', ')}`);
  return m;
}

function numberAt(snapshot: Map<string, ReceivedMetric> | undefined, name: string, attrs: Record<string, string>): number | undefined {
  const m = snapshot?.get(name);
  return m && pointWith(m.points, attrs)?.value;
}

test('OTLP metrics push: duration histogram per method and code, in-flight, bytes and drop counters, with the resource', async (t) => {
  let releaseList: () => void = () => {};
  const listHeld = new Promise<void>((r) => (releaseList = r));
  const unary: Record<string, UnaryHandler> = {
    [VERSION]: (_call, cb) => cb(null, versionResponse),
    [STATUS]: (_call, cb) => cb({ code: grpc.status.NOT_FOUND, details: 'container "gone" not found' }),
    [LIST]: (_call, cb) => void listHeld.then(() => cb(null, listResponse)),
  };
  const upstream = await startFakeUpstream({ unary });
  const receiver = await startOtlpReceiver();
  const proxy = await startObservedProxy({
    listen: tempSocketPath('critap-otlp-metrics'),
    upstream: upstream.endpoint,
    otlpEndpoint: receiver.url,
    otlpMetrics: true,
    peerLookup: false,
    logLevel: 'warn',
  });
  const client = rawClient(proxy.endpoint);
  t.after(async () => {
    releaseList();
    client.close();
    await proxy.close(500);
    await upstream.close();
    await receiver.close();
  });

  for (let i = 0; i < 3; i++) {
    const r = await unaryCall(client, VERSION, versionRequest);
    assert.equal(r.error, undefined, r.error?.message);
  }
  const failed = await unaryCall(client, STATUS, statusRequest);
  assert.equal(failed.error?.code, grpc.status.NOT_FOUND);

  // A call held open shows in the in-flight gauge of a periodic export…
  const listStarted = Date.now();
  const list = unaryCall(client, LIST, listRequest);
  await receiver.waitFor('export with ListContainers in flight', () =>
    numberAt(newestSnapshot(receiver.metrics), METRIC.inFlight, labels('ListContainers')) === 1 ? true : undefined,
  );
  await sleep(Math.max(0, HOLD_MS + 20 - (Date.now() - listStarted))); // + 20: the proxy saw the call start a little later
  releaseList();
  assert.equal((await list).error, undefined);

  // …and is gone from it once answered; by then the histogram has every call.
  const snapshot = await receiver.waitFor('export with all 5 calls ended', () => {
    const s = newestSnapshot(receiver.metrics);
    const listCount = s && pointWith(s.get(METRIC.duration)!.histogramPoints, labels('ListContainers', 'OK'))?.count;
    return listCount === 1 && numberAt(s, METRIC.inFlight, labels('ListContainers')) === 0 ? s : undefined;
  });

  for (const m of snapshot.values()) {
    assert.equal(m.resource['service.name'], 'critap-metrics-test', `${m.name}: resource service.name`);
    assert.equal(m.resource['service.version'], CRITAP_VERSION, `${m.name}: resource service.version`);
    assert.equal(m.scope, 'critap', `${m.name}: instrumentation scope`);
  }

  const duration = metric(snapshot, METRIC.duration);
  assert.equal(duration.type, 'histogram');
  assert.equal(duration.unit, 's');
  assert.equal(duration.temporality, CUMULATIVE);
  assert.deepEqual(
    duration.histogramPoints.map((p) => `${p.attributes[LABEL.method]} ${p.attributes[LABEL.code]}`).sort(),
    ['ContainerStatus NOT_FOUND', 'ListContainers OK', 'Version OK'],
    'one series per method and code',
  );
  for (const p of duration.histogramPoints) {
    assert.equal(p.attributes[LABEL.service], SERVICE);
    assert.deepEqual(p.explicitBounds, DURATION_BUCKETS_SECONDS, 'bucket bounds as configured in call-metrics.ts');
    assert.equal(p.bucketCounts.length, DURATION_BUCKETS_SECONDS.length + 1);
    assert.equal(p.bucketCounts.reduce((a, b) => a + b, 0), p.count, 'bucket counts add up to the count');
    assert.ok(p.sum !== undefined && p.sum > 0 && p.min !== undefined && p.min > 0 && p.max !== undefined && p.max >= p.min);
    assert.ok(p.max < 10, `${p.attributes[LABEL.method]}: max ${p.max} — seconds, and a loopback call takes well under 10`);
  }
  assert.equal(pointWith(duration.histogramPoints, labels('Version', 'OK'))!.count, 3);
  assert.equal(pointWith(duration.histogramPoints, labels('ContainerStatus', 'NOT_FOUND'))!.count, 1);
  const held = pointWith(duration.histogramPoints, labels('ListContainers', 'OK'))!;
  assert.ok(held.min! >= HOLD_MS / 1000, `held call took ${held.min} s (in seconds, not ms or ns)`);
  held.explicitBounds.forEach((bound, i) => {
    if (bound < HOLD_MS / 1000) assert.equal(held.bucketCounts[i], 0, `nothing at le=${bound}`);
  });

  const inFlight = metric(snapshot, METRIC.inFlight);
  assert.equal(inFlight.type, 'sum');
  assert.equal(inFlight.monotonic, false, 'an up-down count (a gauge in Prometheus)');
  for (const method of ['Version', 'ContainerStatus', 'ListContainers']) {
    assert.equal(pointWith(inFlight.points, labels(method))?.value, 0, `${method} in flight`);
  }

  const bytes = { [METRIC.requestBytes]: [versionRequest, statusRequest, listRequest], [METRIC.responseBytes]: [versionResponse, undefined, listResponse] };
  for (const [name, [version, status, listed]] of Object.entries(bytes)) {
    const m = metric(snapshot, name);
    assert.equal(m.type, 'sum');
    assert.equal(m.monotonic, true);
    assert.equal(m.unit, 'By');
    assert.equal(m.temporality, CUMULATIVE);
    // gRPC payload bytes with the 5-byte message prefix; an error answer has no message.
    assert.equal(pointWith(m.points, labels('Version'))?.value, 3 * (version!.length + 5), `${name} Version`);
    assert.equal(pointWith(m.points, labels('ContainerStatus'))?.value, status ? status.length + 5 : 0, `${name} ContainerStatus`);
    assert.equal(pointWith(m.points, labels('ListContainers'))?.value, listed!.length + 5, `${name} ListContainers`);
  }

  for (const name of [METRIC.recordingDropped, METRIC.spansDropped]) {
    const m = metric(snapshot, name);
    assert.equal(m.type, 'sum');
    assert.equal(m.monotonic, true);
    assert.deepEqual(
      m.points.map((p) => [p.attributes, p.value]),
      [[{}, 0]],
      `${name}: one series, at 0`,
    );
  }

  // The same endpoint took the spans: both OTLP services on one collector, as on port 4317.
  client.close();
  await proxy.close(500);
  assert.equal((await proxy.observerStats()).spansDropped, 0);
  assert.equal(receiver.spans.length, 5);
});

test('a metrics collector that is down or failing does not affect forwarding, nor a clean stop', async (t) => {
  const upstream = await startFakeUpstream({ unary: { [VERSION]: (_call, cb) => cb(null, versionResponse) } });
  t.after(() => upstream.close());
  const failing = await startOtlpReceiver();
  t.after(() => failing.close());
  failing.failWith = grpc.status.UNAVAILABLE;
  const collectors = { 'refusing connections': `http://127.0.0.1:${await freePort()}`, 'failing every export': failing.url };
  for (const [what, endpoint] of Object.entries(collectors)) {
    const proxy = await startCliProxy(
      ['--listen', tempSocketPath('critap-metrics-down'), '--upstream', upstream.endpoint, '--otlp-metrics', '--otlp-endpoint', endpoint, '--grace', '1s'],
      { ...process.env, OTEL_METRIC_EXPORT_INTERVAL: '50' },
    );
    t.after(() => proxy.stop('SIGKILL'));
    assert.equal(proxy.started['metrics'], 'OTLP push', 'the start line says metrics are pushed');
    const client = rawClient(proxy.endpoint);
    // Spread over several export intervals, each of which fails.
    for (let i = 0; i < 8; i++) {
      const r = await unaryCall(client, VERSION, versionRequest);
      assert.equal(r.error, undefined, `${what}: ${r.error?.message}`);
      assert.deepEqual(r.response, versionResponse, what);
      await sleep(40);
    }
    client.close();
    const stopping = Date.now();
    assert.equal(await proxy.stop(), 0, `${what}:\n${proxy.log.join('\n')}`);
    assert.ok(Date.now() - stopping < 15_000, `${what}: stop took ${Date.now() - stopping} ms`);
  }
  assert.ok(failing.metricRequests >= 3, `the failing collector was asked ${failing.metricRequests} times`);
  assert.equal(failing.metrics.length, 0);
});
