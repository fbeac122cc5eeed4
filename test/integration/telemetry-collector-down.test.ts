import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '../../src/log.js';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { RUNTIME, makeCall } from '../support/telemetry-calls.js';

/** A loopback port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const nextTurn = () => new Promise((r) => setImmediate(r));

test('collector down: onCallEnd never throws, the queue overflow is counted and logged once', async () => {
  const lines: string[] = [];
  const telemetry = await createTelemetry({
    otlpEndpoint: `http://127.0.0.1:${await deadPort()}`,
    upstream: '/run/c.sock',
    logger: createLogger({ level: 'warn', write: (l) => lines.push(l) }),
    // A long delay keeps every span in the queue: all beyond 8 must be dropped and counted.
    spanQueue: { maxQueueSize: 8, maxExportBatchSize: 8, scheduledDelayMillis: 60_000 },
  });
  const call = makeCall({ method: `${RUNTIME}/Version`, request: { version: '0.1.0' }, response: { version: '0.1.0', runtimeName: 'containerd' } });
  for (let i = 0; i < 50; i++) {
    assert.doesNotThrow(() => {
      telemetry.onCallStart({ method: call.method, startNs: call.startNs, requestMetadata: [] });
      telemetry.onCallEnd(call);
    });
  }
  await nextTurn(); // spans are built on a later turn than onCallEnd
  // The batch hits its size at 8 and goes to the (dead) exporter, so the queue empties once; at least
  // 50 - 2 * 8 spans cannot have found room.
  assert.ok(telemetry.spansDropped >= 34, `dropped ${telemetry.spansDropped}`);
  const warned = lines.filter((l) => l.includes('spans dropped'));
  assert.equal(warned.length, 1, lines.join('\n'));
  await telemetry.close(); // bounded even though nobody answers
  assert.equal(telemetry.spansDropped, 50, 'everything is lost, and everything lost is counted');
});

test('collector refusing exports: failed batches are counted as dropped spans', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  receiver.failWith = grpc.status.INVALID_ARGUMENT; // not retryable: the exporter gives up at once
  const telemetry = await createTelemetry({ otlpEndpoint: receiver.url, upstream: '/run/c.sock', spanQueue: { scheduledDelayMillis: 10 } });
  for (let i = 0; i < 3; i++) telemetry.onCallEnd(makeCall({ method: `${RUNTIME}/Status`, request: {}, response: {} }));
  await telemetry.close();
  assert.ok(receiver.requests >= 1);
  assert.equal(receiver.spans.length, 0);
  assert.equal(telemetry.spansDropped, 3);
});

test('a slow collector does not hold up calls: spans wait in the queue and arrive later', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  receiver.delayMs = 300;
  const telemetry = await createTelemetry({ otlpEndpoint: receiver.url, upstream: '/run/c.sock', spanQueue: { scheduledDelayMillis: 10 } });
  for (let i = 0; i < 20; i++) telemetry.onCallEnd(makeCall({ method: `${RUNTIME}/Status`, request: {}, response: {} }));
  await telemetry.close();
  assert.equal(receiver.spans.length, 20);
  assert.equal(telemetry.spansDropped, 0);
});

test('a collector that never answers cannot hold up close(); what it kept is counted as dropped', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  receiver.delayMs = 60_000;
  const telemetry = await createTelemetry({
    otlpEndpoint: receiver.url,
    upstream: '/run/c.sock',
    spanQueue: { scheduledDelayMillis: 10, maxExportBatchSize: 4 },
    closeTimeoutMs: 200,
  });
  for (let i = 0; i < 10; i++) telemetry.onCallEnd(makeCall({ method: `${RUNTIME}/Status`, request: {}, response: {} }));
  await telemetry.close();
  assert.equal(receiver.spans.length, 0);
  assert.equal(telemetry.spansDropped, 10);
});
