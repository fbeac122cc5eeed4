import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { RUNTIME, makeCall } from '../support/telemetry-calls.js';

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of one sample line, found by metric name and the labels it must carry. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('/metrics: duration histogram per method and code, in-flight, bytes, drops', async (t) => {
  const telemetry = await createTelemetry({ upstream: 'unix:///run/c.sock', metricsListen: '127.0.0.1:0', tracing: false });
  t.after(() => telemetry.close());
  assert.match(telemetry.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

  const version = makeCall({ method: `${RUNTIME}/Version`, request: { version: '0.1.0' }, response: { version: '0.1.0' }, durationNs: 300_000 });
  const slow = makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {}, durationNs: 1_500_000_000 });
  const notFound = makeCall({ method: `${RUNTIME}/ContainerStatus`, request: { containerId: 'x' }, status: { code: 5, message: 'not found' } });
  for (const c of [version, slow, notFound]) {
    telemetry.onCallStart({ method: c.method, startNs: c.startNs, requestMetadata: [] });
    telemetry.onCallEnd(c);
  }
  // One call still open:
  telemetry.onCallStart({ method: `${RUNTIME}/ExecSync`, startNs: 1n, requestMetadata: [] });
  telemetry.recordDropped(3);

  const text = await scrape(telemetry.metricsUrl!);
  const v = { rpc_service: 'runtime.v1.RuntimeService', rpc_method: 'Version', grpc_code: 'OK' };
  assert.match(text, /# TYPE critap_rpc_duration_seconds histogram/);
  assert.equal(sample(text, 'critap_rpc_duration_seconds_count', v), 2);
  assert.ok(Math.abs(sample(text, 'critap_rpc_duration_seconds_sum', v)! - 1.5003) < 1e-9);
  assert.equal(sample(text, 'critap_rpc_duration_seconds_bucket', { ...v, le: '0.0001' }), 0);
  assert.equal(sample(text, 'critap_rpc_duration_seconds_bucket', { ...v, le: '0.0005' }), 1, '300 µs lands at 500 µs');
  assert.equal(sample(text, 'critap_rpc_duration_seconds_bucket', { ...v, le: '2.5' }), 2);
  assert.equal(sample(text, 'critap_rpc_duration_seconds_bucket', { ...v, le: '300' }), 2);
  assert.equal(sample(text, 'critap_rpc_duration_seconds_bucket', { ...v, le: '+Inf' }), 2);
  assert.equal(
    sample(text, 'critap_rpc_duration_seconds_count', { rpc_method: 'ContainerStatus', grpc_code: 'NOT_FOUND' }),
    1,
  );
  assert.equal(sample(text, 'critap_rpc_in_flight', { rpc_method: 'ExecSync' }), 1);
  assert.equal(sample(text, 'critap_rpc_in_flight', { rpc_method: 'Version' }), 0);
  assert.equal(
    sample(text, 'critap_rpc_request_bytes_total', { rpc_method: 'Version' }),
    version.requestBytes + slow.requestBytes,
  );
  assert.equal(
    sample(text, 'critap_rpc_response_bytes_total', { rpc_method: 'Version' }),
    version.responseBytes + slow.responseBytes,
  );
  assert.equal(sample(text, 'critap_recording_dropped_calls_total', {}), 3);
  assert.equal(sample(text, 'critap_spans_dropped_total', {}), 0);
  assert.match(text, /target_info\{[^}]*service_name="critap"/);

  const notHere = await fetch(telemetry.metricsUrl!.replace('/metrics', '/other'));
  assert.equal(notHere.status, 404);
  await notHere.text();
});

test('an end without a seen start does not drive in-flight below zero; odd paths are bounded', async (t) => {
  const telemetry = await createTelemetry({ upstream: '/run/c.sock', metricsListen: '127.0.0.1:0', tracing: false });
  t.after(() => telemetry.close());
  telemetry.onCallEnd(makeCall({ method: `${RUNTIME}/Status`, request: {}, response: {} }));
  const base = makeCall({ method: `${RUNTIME}/Status`, request: {}, response: {} });
  for (let i = 0; i < 300; i++) telemetry.onCallEnd({ ...base, method: `/fuzz.Service/M${i}` });
  const text = await scrape(telemetry.metricsUrl!);
  assert.equal(sample(text, 'critap_rpc_in_flight', { rpc_method: 'Status' }), 0);
  const methods = new Set([...text.matchAll(/critap_rpc_duration_seconds_count\{[^}]*rpc_method="([^"]+)"/g)].map((m) => m[1]));
  assert.ok(methods.size <= 257, `${methods.size} method label values`);
  assert.ok(methods.has('_other'));
});

test('a busy metrics port is a clear startup error', async (t) => {
  const first = await createTelemetry({ upstream: '/run/c.sock', metricsListen: '127.0.0.1:0', tracing: false });
  t.after(() => first.close());
  const port = new URL(first.metricsUrl!).port;
  await assert.rejects(
    createTelemetry({ upstream: '/run/c.sock', metricsListen: `127.0.0.1:${port}`, tracing: false }),
    /critap: cannot serve metrics on 127\.0\.0\.1:\d+: EADDRINUSE/,
  );
});
