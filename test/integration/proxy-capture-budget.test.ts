import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../../src/proxy/proxy.js';
import { CaptureBudget } from '../../src/proxy/capture-budget.js';
import { bodyBytes, type CallRecord } from '../../src/call.js';
import { Worker } from 'node:worker_threads';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startObservedProxy } from '../../src/proxy/observed-proxy.js';
import { openRecording } from '../../src/record/reader.js';
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

test('CaptureBudget: two budgets on one shared counter account the same bytes, across threads too', async () => {
  const a = new CaptureBudget(100);
  const b = new CaptureBudget(100, a.shared);
  assert.equal(a.take(70), true);
  assert.equal(b.take(40), false, 'the other side sees what this side holds');
  b.give(70);
  assert.equal(a.inUse, 0);
  assert.equal(a.take(100), true);
  const w = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     new BigInt64Array(workerData)[0] -= 60n; // what CaptureBudget.give does, from another thread
     parentPort.postMessage('done');`,
    { eval: true, workerData: a.shared },
  );
  await new Promise((r) => w.once('message', r));
  await w.terminate();
  assert.equal(a.inUse, 40);
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

test('a sink that releases the budget itself holds it past the end of the call, until it gives it back', async (t) => {
  const big = Buffer.alloc(600 * 1024, 7);
  const up = await startFakeUpstream({
    unary: { '/runtime.v1.RuntimeService/ExecSync': (_call, cb) => cb(null, big) },
  });
  const budget = new CaptureBudget(1024 * 1024);
  const held: CallRecord[] = [];
  const proxy = await startProxy({
    listen: tempSocketPath('proxy'),
    upstream: up.endpoint,
    sinks: [{ needsBodies: true, releasesBudget: true, onCallEnd: (c) => held.push(c) }],
    captureLimit: 1024 * 1024,
    captureBudget: budget,
    // Delivered as the call ends (the peer lookup would hold the first calls for a moment).
    peerLookup: false,
  });
  const client = rawClient(proxy.endpoint);
  t.after(async () => {
    client.close();
    await proxy.close(100);
    await up.close();
  });
  const call = () => unaryCall(client, '/runtime.v1.RuntimeService/ExecSync', Buffer.from('x'));
  assert.ok((await call()).response?.equals(big));
  assert.equal(held[0]!.responses[0]!.data.length, big.length);
  assert.equal(budget.inUse, bodyBytes(held[0]!), 'the ended call still holds its bodies in the budget');
  // Still held: the next answer does not fit and is forwarded whole but not kept.
  assert.ok((await call()).response?.equals(big));
  assert.equal(held[1]!.truncated, true);
  assert.equal(held[1]!.responses.length, 0);
  // Given back: the next answer is kept again.
  for (const c of held.splice(0)) budget.give(bodyBytes(c));
  assert.equal(budget.inUse, 0);
  assert.ok((await call()).response?.equals(big));
  assert.ok(held[0]!.responses[0]!.data.equals(big));
});

test('a sink that releases the budget must be the only sink', async () => {
  await assert.rejects(
    startProxy({
      listen: tempSocketPath('proxy'),
      upstream: 'unix:///nonexistent.sock',
      sinks: [{ needsBodies: true, releasesBudget: true, onCallEnd: () => {} }, { needsBodies: false, onCallEnd: () => {} }],
    }),
    /only sink/,
  );
});

for (const observerThread of [true, false]) {
  test(`recording (${observerThread ? 'observer thread' : 'inline'}): the budget is given back once calls are written, and they are whole`, async (t) => {
    const big = Buffer.alloc(300 * 1024, 5);
    const up = await startFakeUpstream({
      unary: { '/runtime.v1.RuntimeService/ExecSync': (_call, cb) => cb(null, big) },
    });
    const dir = await mkdtemp(join(tmpdir(), 'critap-budget-'));
    const proxy = await startObservedProxy({
      listen: tempSocketPath('proxy'),
      upstream: up.endpoint,
      record: join(dir, 'rec'),
      captureBudget: 1024 * 1024,
      captureLimit: 1024 * 1024,
      observerThread,
    });
    const client = rawClient(proxy.endpoint);
    t.after(async () => {
      client.close();
      await proxy.close(100);
      await up.close();
      await rm(dir, { recursive: true, force: true });
    });
    for (let i = 0; i < 3; i++) {
      const results = await Promise.all([1, 2].map(() => unaryCall(client, '/runtime.v1.RuntimeService/ExecSync', Buffer.from('x'))));
      for (const r of results) assert.ok(r.response?.equals(big));
      // Written within the recorder's flush interval; then the budget is free again.
      const until = Date.now() + 5000;
      while (((await proxy.observerStats()).recorded ?? 0) < 2 * (i + 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      while (proxy.stats().captureBytesHeld > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.equal(proxy.stats().captureBytesHeld, 0, 'every body written, every byte given back');
    }
    assert.equal(proxy.stats().bodiesNotCaptured, 0);
    await proxy.close(100);
    const rec = await openRecording(join(dir, 'rec'));
    let whole = 0;
    for await (const c of rec.calls()) if (c.responses[0]?.data.equals(big)) whole++;
    await rec.close();
    assert.equal(whole, 6);
  });
}

test('the LevelDB addon stays loaded after the observer thread stops (its background thread outlives the worker)', async (t) => {
  const up = await startFakeUpstream({ unary: {} });
  const dir = await mkdtemp(join(tmpdir(), 'critap-addon-'));
  t.after(async () => {
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });
  // A process of its own: this test file loads LevelDB on its main thread already.
  const script = `
    const { startObservedProxy } = await import(${JSON.stringify(new URL('../../src/proxy/observed-proxy.js', import.meta.url).href)});
    const proxy = await startObservedProxy({ listen: ${JSON.stringify(tempSocketPath('proxy'))}, upstream: ${JSON.stringify(up.endpoint)}, record: ${JSON.stringify(join(dir, 'rec'))} });
    await proxy.close(100);
    await new Promise((r) => setTimeout(r, 100));
    process.stdout.write(/classic-level.*\\.node/.test((await import('node:fs')).readFileSync('/proc/self/maps', 'utf8')) ? 'loaded' : 'unloaded');`;
  const file = join(dir, 'child.mjs');
  await writeFile(file, script);
  const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(out, 'loaded');
});

test('observers that never catch up stop forwarding for at most a moment: large bodies are then recorded truncated', async (t) => {
  // A spooling sink that never gives its parts back, as a recorder stuck on a stalled disk would.
  const answer = Buffer.alloc(2 * 1024 * 1024, 5);
  const up = await startFakeUpstream({ unary: { '/runtime.v1.RuntimeService/ExecSync': (_call, cb) => cb(null, answer) } });
  const ended: CallRecord[] = [];
  const proxy = await startProxy({
    listen: tempSocketPath('proxy'),
    upstream: up.endpoint,
    sinks: [{ needsBodies: true, releasesBudget: true, spoolsBodies: true, onBodyPart: () => {}, onCallEnd: (c) => ended.push(c) }],
    captureLimit: 4 * 1024 * 1024,
    captureBudget: new CaptureBudget(4 * 1024 * 1024),
    peerLookup: false,
  });
  const client = rawClient(proxy.endpoint);
  t.after(async () => {
    client.close();
    await proxy.close(100);
    await up.close();
  });
  const results = await Promise.race([
    Promise.all([0, 1, 2, 3].map(() => unaryCall(client, '/runtime.v1.RuntimeService/ExecSync', Buffer.from('x')))),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('calls hung waiting for observers that never catch up')), 30_000)),
  ]);
  for (const r of results) assert.ok(r.response?.equals(answer), 'the client got every answer whole');
  await new Promise((r) => setImmediate(r));
  assert.equal(ended.length, 4);
  assert.ok(ended.some((c) => c.truncated), 'bodies past the stall are recorded truncated');
});

test('CaptureBudget: credit taken ahead on one side never refuses a body that fits, nor lets the other side past the limit', () => {
  const mib = 1024 * 1024;
  const a = new CaptureBudget(4 * mib);
  const b = new CaptureBudget(4 * mib, a.shared);
  assert.equal(a.take(10), true, 'a small body takes credit ahead');
  assert.equal(a.inUse, 10, 'credit not handed out is not in use');
  assert.ok(Number(new BigInt64Array(a.shared)[0]) > 10, 'the shared counter holds the credit too');
  // What is left for b is the limit less a's credit, so the two never hold more than the limit together.
  assert.equal(b.take(4 * mib - 10), false);
  // a itself, though, may use every byte not held: its credit counts toward it.
  assert.equal(a.take(4 * mib - 10), true);
  assert.equal(a.inUse, 4 * mib);
  assert.equal(a.take(1), false);
  assert.equal(a.refused, 1);
  b.give(4 * mib);
  assert.equal(a.inUse, 0);
  assert.equal(b.inUse, 0);
  // Many small bodies: each kept, counted exactly.
  for (let i = 0; i < 1000; i++) assert.equal(a.take(100), true);
  assert.equal(a.inUse, 100_000);
  assert.equal(b.inUse, Number(new BigInt64Array(a.shared)[0]), 'the other side sees a credit as held (it is what bounds it)');
});
