/**
 * The recorder's queue of prepared calls (src/record/prepared-queue.ts): whatever it holds them
 * as, calls come back out as they went in, oldest first, with the body bytes each held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PreparedQueue } from '../../src/record/prepared-queue.js';
import type { PreparedCall } from '../../src/record/store.js';

function call(i: number, size: number, extra: Partial<PreparedCall> = {}): PreparedCall {
  const value = Buffer.alloc(size, i % 251);
  if (size >= 4) value.writeUInt32BE(i, 0);
  return { startNs: 1_700_000_000_000_000_000n + BigInt(i), method: `/runtime.v1.RuntimeService/M${i % 3}`, value, ids: {}, redacted: false, ...extra };
}

function same(got: PreparedCall, want: PreparedCall, what: string): void {
  assert.equal(got.startNs, want.startNs, what);
  assert.equal(got.method, want.method, what);
  assert.ok(Buffer.from(got.value).equals(want.value), `${what}: value`);
  assert.deepEqual(got.ids, want.ids, what);
  assert.equal(got.redacted, want.redacted, what);
  assert.deepEqual(got.bodyFiles, want.bodyFiles, what);
}

test('calls come out as they went in, oldest first, across partial takes, large values and arena growth', () => {
  const q = new PreparedQueue();
  const pushed: PreparedCall[] = [];
  const held: number[] = [];
  const put = (c: PreparedCall, h: number) => {
    pushed.push({ ...c, value: Buffer.from(c.value) });
    held.push(h);
    q.push(c, h);
  };
  let next = 0;
  const out: PreparedCall[] = [];
  let heldOut = 0;
  for (let round = 0; round < 5; round++) {
    for (let k = 0; k < 700; k++, next++) {
      const i = next;
      const size = i % 97 === 0 ? 100_000 : i % 13 === 0 ? 0 : 200 + (i % 700);
      const extra: Partial<PreparedCall> = {};
      if (i % 7 === 0) extra.ids = { podSandboxId: `sb-${i}`, podName: 'web' };
      if (i % 11 === 0) extra.redacted = true;
      if (i % 50 === 0) extra.bodyFiles = [{ file: `f${i}.body`, length: 1 << 20 }];
      put(call(i, size, extra), i % 5);
    }
    assert.equal(q.length, pushed.length - out.length);
    assert.equal(q.held, held.slice(out.length).reduce((a, b) => a + b, 0));
    // Take less than is queued, so some calls move to a new arena.
    const n = Math.min(q.length, 256 + round * 200);
    for (let i = 0; i < n; i++) assert.equal(q.heldAt(i), held[out.length + i]);
    const taken = q.take(n);
    out.push(...taken.calls);
    heldOut += taken.held;
  }
  while (q.length > 0) {
    const taken = q.take(Math.min(q.length, 256));
    out.push(...taken.calls);
    heldOut += taken.held;
  }
  assert.equal(out.length, pushed.length);
  out.forEach((c, i) => same(c, pushed[i]!, `call ${i}`));
  assert.equal(heldOut, held.reduce((a, b) => a + b, 0));
  assert.equal(q.held, 0);
});

test('clear() empties the queue and says which body files and how many body bytes its calls held', () => {
  const q = new PreparedQueue();
  q.push(call(1, 300), 10);
  q.push(call(2, 100_000, { bodyFiles: [{ file: 'a.body', length: 5 }, { file: 'b.body', length: 6 }] }), 20);
  q.take(1);
  q.push(call(3, 50, { bodyFiles: [{ file: 'c.body', length: 7 }] }), 30);
  assert.deepEqual(q.clear(), { bodyFiles: ['a.body', 'b.body', 'c.body'], held: 50 });
  assert.equal(q.length, 0);
  assert.equal(q.held, 0);
  // Usable again, and nothing of before comes back.
  const later = call(4, 40);
  q.push(later, 1);
  const { calls } = q.take(1);
  assert.equal(calls.length, 1);
  same(calls[0]!, call(4, 40), 'after clear');
});
