/**
 * The observer thread's sink takes call starts only when something counts them (the in-flight
 * gauge, read through metrics); then a start still crosses to the thread and shows in /metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startObserverThread } from '../../src/observe/thread.js';
import { CaptureBudget } from '../../src/proxy/capture-budget.js';

const VERSION = '/runtime.v1.RuntimeService/Version';

test('without metrics the observer thread takes no call starts (the tap then builds none)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'critap-starts-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const thread = await startObserverThread({ upstream: 'unix:///run/c.sock', record: join(dir, 'rec'), tracing: false }, undefined, new CaptureBudget(1 << 20));
  t.after(() => thread.close());
  assert.equal(thread.onCallStart, undefined);
});

test('with metrics a start crosses to the observer thread: the call shows in flight', async (t) => {
  const thread = await startObserverThread({ upstream: 'unix:///run/c.sock', metricsListen: '127.0.0.1:0', tracing: false }, undefined, new CaptureBudget(1 << 20));
  t.after(() => thread.close());
  assert.equal(typeof thread.onCallStart, 'function');
  thread.onCallStart!({ method: VERSION, startNs: 1n, requestMetadata: [] });
  let line: string | undefined;
  for (let i = 0; i < 100 && line === undefined; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const text = await (await fetch(thread.metricsUrl!)).text();
    line = text.split('\n').find((l) => l.startsWith('critap_rpc_in_flight{') && l.includes('rpc_method="Version"') && l.endsWith(' 1'));
  }
  assert.ok(line, 'the started call is counted in flight');
});
