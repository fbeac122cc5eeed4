import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRE_WARM_CALLS, scenarios } from '../../bench/scenarios.js';

const ENDPOINT = 'unix:///nowhere.sock';

test('the 1-in-flight latency scenarios warm a fresh critap as the 64-in-flight ones do, with the cheap client', () => {
  const full = scenarios({ smoke: false, clients: 2 });
  const latency = full.filter((s) => s.id.endsWith('-version-latency'));
  assert.deepEqual(latency.map((s) => s.id).sort(), ['containerd-version-latency', 'fake-version-latency']);
  const throughput = full.find((s) => s.id === 'containerd-version-throughput')!.job(ENDPOINT);
  assert.equal(throughput.kind, 'unary');
  for (const s of latency) {
    const pre = s.preWarm?.(ENDPOINT);
    assert.ok(pre, `${s.id} has a pre-warm`);
    assert.equal(pre.kind, 'unary');
    // As many calls as the throughput scenarios warm up with, made fast: the h2 client, 64 in flight.
    assert.equal(pre.calls, PRE_WARM_CALLS);
    assert.equal(throughput.kind === 'unary' && throughput.warmup, PRE_WARM_CALLS);
    assert.equal(pre.client, 'h2');
    assert.equal(pre.inFlight, 64);
    assert.equal(pre.endpoint, ENDPOINT);
    assert.equal(pre.path, s.job(ENDPOINT).path, 'the pre-warm calls the method the scenario measures');
    // The measured calls stay a real client's, one at a time, after their own warm-up.
    const job = s.job(ENDPOINT);
    assert.equal(job.client, 'grpc-js');
    assert.equal(job.inFlight, 1);
    assert.ok(job.kind === 'unary' && job.warmup >= 1000);
  }
});

test('smoke mode has no pre-warm: it proves the benchmark runs, quickly', () => {
  for (const s of scenarios({ smoke: true, clients: 2 })) assert.equal(s.preWarm, undefined, s.id);
});

test('only the latency scenarios pre-warm: the others warm up on their own job', () => {
  const others = scenarios({ smoke: false, clients: 2 }).filter((s) => !s.id.endsWith('-version-latency'));
  for (const s of others) assert.equal(s.preWarm, undefined, s.id);
});
