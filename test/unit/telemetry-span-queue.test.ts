/**
 * The live span queue (src/telemetry/span-queue.ts), with a scripted collector: when batches go,
 * one export at a time, and every lost span counted once with its reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/log.js';
import { DropCounter } from '../../src/telemetry/drop-counter.js';
import type { SpanBatch } from '../../src/telemetry/span-batch.js';
import { QUEUE_FULL, SHUTDOWN_LOST, SpanQueue, queueSettings, type SendBatch } from '../../src/telemetry/span-queue.js';

/** Records every drop with its reason. */
class Drops extends DropCounter {
  readonly reasons = new Map<string, number>();
  constructor() {
    super(silentLogger);
  }
  override add(n: number, reason: string): void {
    if (n > 0) this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + n);
    super.add(n, reason);
  }
}

/** The one-byte test spans in a batch, read back from its ScopeSpans fields (tag 0x12, length 1, the byte). */
function spansIn(batch: SpanBatch): number[] {
  const b = batch.bytes;
  const out: number[] = [];
  for (let i = 0; i < b.length; i += 3) {
    assert.deepEqual([b[i], b[i + 1]], [0x12, 1], 'each span is a ScopeSpans.spans field of its own');
    out.push(b[i + 2]!);
  }
  assert.equal(out.length, batch.count);
  return out;
}

/** A collector that answers when told to. It reads each batch as it is sent: the queue reuses a batch once answered. */
function collector() {
  const batches: { spans: number[]; done: (error?: Error) => void }[] = [];
  const send: SendBatch = (batch, done) => batches.push({ spans: spansIn(batch), done });
  return { batches, send };
}

const span = (i: number) => Uint8Array.of(i);

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('settings: options, else OTEL_BSP_*, else the SDK defaults; a batch is never larger than the queue', () => {
  assert.deepEqual(queueSettings({}, {}), { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 5000, exportTimeoutMillis: 30_000 });
  const env = { OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10', OTEL_BSP_SCHEDULE_DELAY: '250', OTEL_BSP_EXPORT_TIMEOUT: '1000' };
  assert.deepEqual(queueSettings({}, env), { maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMillis: 250, exportTimeoutMillis: 1000 });
  assert.deepEqual(queueSettings({ maxExportBatchSize: 7, scheduledDelayMillis: 1 }, env), { maxQueueSize: 100, maxExportBatchSize: 7, scheduledDelayMillis: 1, exportTimeoutMillis: 1000 });
  assert.equal(queueSettings({ maxQueueSize: 4 }, { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10' }).maxExportBatchSize, 4);
  assert.equal(queueSettings({}, { OTEL_BSP_MAX_QUEUE_SIZE: 'lots', OTEL_BSP_SCHEDULE_DELAY: '-5' }).maxQueueSize, 2048, 'nonsense is ignored');
});

test('a full batch goes at once; one export at a time; what piles up meanwhile follows', async () => {
  const c = collector();
  const q = new SpanQueue(c.send, new Drops(), { maxQueueSize: 100, maxExportBatchSize: 3, scheduledDelayMillis: 60_000 }, {});
  for (let i = 0; i < 8; i++) q.add(span(i));
  assert.equal(c.batches.length, 1, 'the second full batch waits for the first export');
  assert.deepEqual(c.batches[0]!.spans, [0, 1, 2]);
  assert.equal(q.queued, 5);
  c.batches[0]!.done();
  assert.equal(c.batches.length, 2);
  assert.deepEqual(c.batches[1]!.spans, [3, 4, 5]);
  c.batches[1]!.done();
  assert.equal(c.batches.length, 2, 'a partial batch waits for the schedule delay');
  assert.equal(q.queued, 2);
  const closing = q.close(1000);
  await until(() => c.batches.length === 3, 'close to send the rest');
  assert.deepEqual(c.batches[2]!.spans, [6, 7]);
  c.batches[2]!.done();
  await closing;
  q.add(span(9));
  assert.equal(q.queued, 0, 'closed: nothing more is taken');
});

test('a partial batch goes after the schedule delay', async () => {
  const c = collector();
  const q = new SpanQueue(c.send, new Drops(), { maxExportBatchSize: 100, scheduledDelayMillis: 10 }, {});
  q.add(span(1));
  q.add(span(2));
  assert.equal(c.batches.length, 0);
  await until(() => c.batches.length === 1, 'the timer');
  assert.deepEqual(c.batches[0]!.spans, [1, 2]);
  c.batches[0]!.done();
  await q.close(100);
});

test('a full queue drops and counts; failed exports are counted with the collector\'s reason', async () => {
  const c = collector();
  const drops = new Drops();
  const q = new SpanQueue(c.send, drops, { maxQueueSize: 4, maxExportBatchSize: 4, scheduledDelayMillis: 60_000 }, {});
  for (let i = 0; i < 12; i++) assert.doesNotThrow(() => q.add(span(i)));
  // 4 went to the collector, 4 wait, 4 found no room.
  assert.equal(drops.reasons.get(QUEUE_FULL), 4);
  c.batches[0]!.done(new Error('14 UNAVAILABLE: No connection established'));
  assert.equal(drops.reasons.get('export failed: 14 UNAVAILABLE: No connection established'), 4);
  c.batches[1]!.done();
  assert.equal(drops.total, 8);
  await q.close(100);
  assert.equal(drops.total, 8);
});

test('a collector that throws or answers twice is counted once', async () => {
  const drops = new Drops();
  let calls = 0;
  const q = new SpanQueue(
    (_spans, done) => {
      calls++;
      if (calls === 1) throw new Error('boom');
      done(new Error('late'));
      done(new Error('again'));
    },
    drops,
    { maxExportBatchSize: 2, scheduledDelayMillis: 60_000 },
    {},
  );
  q.add(span(1));
  assert.doesNotThrow(() => q.add(span(2)));
  assert.equal(drops.reasons.get('export failed: boom'), 2);
  q.add(span(3));
  q.add(span(4));
  assert.equal(drops.reasons.get('export failed: late'), 2);
  assert.equal(drops.reasons.get('export failed: again'), undefined);
  await q.close(100);
});

test('an export not answered within the export timeout counts as failed, and the next batch goes', async () => {
  const c = collector();
  const drops = new Drops();
  const q = new SpanQueue(c.send, drops, { maxExportBatchSize: 2, scheduledDelayMillis: 60_000, exportTimeoutMillis: 20 }, {});
  for (let i = 0; i < 4; i++) q.add(span(i));
  assert.equal(c.batches.length, 1);
  await until(() => c.batches.length === 2, 'the timeout to free the export slot');
  assert.equal(drops.reasons.get('export failed: no answer within 20 ms'), 2);
  c.batches[0]!.done(new Error('too late')); // the late answer is not counted again
  c.batches[1]!.done();
  assert.equal(drops.total, 2);
  await q.close(100);
});

test('close() is bounded: what is queued or in flight when it gives up is counted once', async () => {
  const c = collector();
  const drops = new Drops();
  const q = new SpanQueue(c.send, drops, { maxExportBatchSize: 4, scheduledDelayMillis: 60_000 }, {});
  for (let i = 0; i < 10; i++) q.add(span(i));
  const started = Date.now();
  await q.close(50);
  assert.ok(Date.now() - started < 2000);
  assert.equal(drops.reasons.get(SHUTDOWN_LOST), 10, '4 in flight + 4 + 2 queued');
  c.batches[0]!.done(new Error('finally failed'));
  assert.equal(drops.total, 10, 'an answer after close() gave up is not counted again');
});

test('a batch is reused once answered, never while its sender may still read it', async () => {
  const sent: SpanBatch[] = [];
  const dones: ((error?: Error) => void)[] = [];
  const q = new SpanQueue((batch, done) => (sent.push(batch), dones.push(done)), new Drops(), { maxExportBatchSize: 2, scheduledDelayMillis: 60_000, exportTimeoutMillis: 20 }, {});
  q.add(span(0));
  q.add(span(1));
  assert.deepEqual(spansIn(sent[0]!), [0, 1]);
  // No answer within the export timeout: the batch is given up on, but the sender still has it.
  await until(() => q.queued === 0 && sent.length === 1, 'the timeout');
  await new Promise((r) => setTimeout(r, 40));
  q.add(span(2));
  q.add(span(3));
  assert.equal(sent.length, 2);
  assert.notEqual(sent[1], sent[0], 'a batch given up on is not reused');
  assert.deepEqual(spansIn(sent[0]!), [0, 1], 'and its bytes are left alone');
  dones[1]!();
  q.add(span(4));
  q.add(span(5));
  assert.equal(sent[2], sent[1], 'an answered batch is reused');
  assert.deepEqual(spansIn(sent[2]!), [4, 5], 'holding only its new spans');
  dones[2]!();
  await q.close(100);
});
