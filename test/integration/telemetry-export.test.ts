import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecording, openRecording } from '../../src/record/index.js';
import { exportRecordingOtlp } from '../../src/telemetry/export-recording.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { POD, RUNTIME, makeCall, podStartCalls } from '../support/telemetry-calls.js';

const SANDBOX = '5'.repeat(64);
const CONTAINER = '6'.repeat(64);

test('a recording exports as spans with the recorded start, duration, attributes and pod links', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'critap-telemetry-export-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());

  const traced: [string, string][] = [['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']];
  const calls = [
    ...podStartCalls(SANDBOX, CONTAINER, traced),
    makeCall({ method: `${RUNTIME}/Version`, request: {}, response: { version: '0.1.0' }, durationNs: 987_654 }),
  ];
  // Distinct, odd start times and durations: any rounding on the way would show.
  calls.forEach((c, i) => {
    c.startNs = 1_700_000_000_000_000_001n + BigInt(i) * 1_000_000_007n;
    c.durationNs = 1_000_003 * (i + 1);
  });
  const writer = await createRecording(dir);
  await writer.append(...calls);
  await writer.close();

  const reader = await openRecording(dir);
  const result = await exportRecordingOtlp(reader, {
    endpoint: receiver.url,
    serviceName: 'critap-replayed',
    upstream: 'unix:///run/containerd/containerd.sock',
    filter: (c) => !c.method.endsWith('/Version'),
    batchSize: 2,
  });
  assert.equal(result.spans, 3);
  assert.equal(receiver.spans.length, 3);
  assert.ok(receiver.requests >= 2, 'batches of 2');

  for (const recorded of calls.slice(0, 3)) {
    const span = receiver.spans.find((s) => s.name === recorded.method.slice(1));
    assert.ok(span, recorded.method);
    assert.equal(span.startNs, recorded.startNs);
    assert.equal(span.endNs - span.startNs, BigInt(recorded.durationNs));
    assert.equal(span.kind, 2);
    assert.equal(span.parentSpanId, 'b7ad6b7169203331');
    assert.equal(span.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(span.resource['service.name'], 'critap-replayed');
    assert.equal(span.attributes['server.address'], '/run/containerd/containerd.sock');
  }
  const start = receiver.spans.find((s) => s.name.endsWith('/StartContainer'))!;
  assert.equal(start.attributes['k8s.pod.name'], POD.name);
  assert.equal(start.attributes['k8s.pod.uid'], POD.uid);
  assert.equal(start.attributes['critap.pod_sandbox.id'], SANDBOX);
  assert.equal(start.attributes['container.name'], 'nginx');
  await reader.close();
});

test('export to a collector that refuses fails with a critap: error', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  receiver.failWith = 3; // INVALID_ARGUMENT: not retried
  const calls = [makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {} })];
  const reader = { async *calls() { yield* calls; } };
  await assert.rejects(exportRecordingOtlp(reader, { endpoint: receiver.url }), /^Error: critap: OTLP export to http:\/\/127\.0\.0\.1:\d+ failed/);
  await assert.rejects(exportRecordingOtlp(reader, { endpoint: ' ' }), /critap: OTLP export needs an endpoint/);
});
