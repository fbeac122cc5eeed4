import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../../src/proxy/proxy.js';
import { CaptureBudget } from '../../src/proxy/capture-budget.js';
import type { CallRecord } from '../../src/call.js';
import { rawClient, startFakeUpstream, tempSocketPath, unaryCall } from '../support/fake-upstream.js';

test('CaptureBudget takes while it fits, refuses past it, and counts refusals', () => {
  const b = new CaptureBudget(100);
  assert.equal(b.take(60), true);
  assert.equal(b.take(50), false);
  assert.equal(b.refused, 1);
  b.give(60);
  assert.equal(b.take(100), true);
  assert.equal(b.inUse, 100);
});

test('bodies past the capture budget are forwarded whole but kept for no observer; the budget frees up', async (t) => {
  const big = Buffer.alloc(600 * 1024, 7);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const up = await startFakeUpstream({
    unary: {
      '/runtime.v1.RuntimeService/ExecSync': (_call, cb) => void gate.then(() => cb(null, big)),
    },
  });
  const calls: CallRecord[] = [];
  const proxy = await startProxy({
    listen: tempSocketPath('proxy'),
    upstream: up.endpoint,
    sinks: [{ needsBodies: true, onCallEnd: (c) => calls.push(c) }],
    captureLimit: 1024 * 1024,
    captureBudget: 1024 * 1024,
  });
  const client = rawClient(proxy.endpoint);
  t.after(async () => {
    client.close();
    await proxy.close(100);
    await up.close();
  });
  const pending = [1, 2, 3].map(() => unaryCall(client, '/runtime.v1.RuntimeService/ExecSync', Buffer.from('x')));
  await new Promise((r) => setTimeout(r, 200));
  release();
  const results = await Promise.all(pending);
  for (const r of results) assert.ok(r.response?.equals(big), 'every client got the whole answer');
  assert.equal(calls.length, 3);
  const kept = calls.filter((c) => c.responses.length === 1);
  const notKept = calls.filter((c) => c.truncated);
  assert.ok(kept.length >= 1 && notKept.length >= 1, `kept ${kept.length}, not kept ${notKept.length}`);
  for (const c of notKept) assert.equal(c.responseBytes, big.length + 5, 'sizes are still counted');
  assert.ok(proxy.stats().bodiesNotCaptured >= 1);
  // Once the calls ended, the budget is free again: the next answer is kept.
  const again = await unaryCall(client, '/runtime.v1.RuntimeService/ExecSync', Buffer.from('x'));
  assert.ok(again.response?.equals(big));
  assert.ok(calls[3]!.responses[0]!.data.equals(big));
});
