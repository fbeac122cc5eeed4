/**
 * An injected call is recorded, counted and replayed *as injected*: the recording names the
 * rule, /metrics counts critap_faults_injected_total{rule,method,action}, and a replay of the
 * recording never serves critap's injected error as if the runtime had answered it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { proxy, replay, openRecording } from '../../src/index.js';
import { rawClient, startFakeUpstream, unaryCall } from '../support/fake-upstream.js';

const V = '/runtime.v1.RuntimeService/Version';

test('recorded with the rule, counted by rule/method/action, never replayed as the runtime\'s answer', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'critap-fault-rec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const up = await startFakeUpstream({ unary: { [V]: (_c, cb) => cb(null, Buffer.from([0x0a, 0x02, 0x76, 0x31])) } }); // {version: "v1"}
  t.after(() => up.close());
  const p = await proxy({ upstream: up.endpoint, record: join(dir, 'rec'), metricsListen: '127.0.0.1:0', faults: ['method=Version,error=UNAVAILABLE,count=1', 'method=Version,delay=50ms,count=1'], peerLookup: false });
  let closed = false;
  t.after(() => (closed ? undefined : p.close(0)));
  const c = rawClient(p.endpoint);
  t.after(() => c.close());
  assert.equal((await unaryCall(c, V, Buffer.alloc(0))).error?.code, grpc.status.UNAVAILABLE);
  assert.ok((await unaryCall(c, V, Buffer.alloc(0))).response, 'delayed, answered by the runtime');
  assert.ok((await unaryCall(c, V, Buffer.alloc(0))).response, 'no rule left');
  await new Promise((r) => setTimeout(r, 200));
  const metrics = await (await fetch(p.metricsUrl!)).text();
  assert.match(metrics, /critap_faults_injected_total\{[^}]*rule="method=Version,error=UNAVAILABLE,count=1"[^}]*\} 1/);
  assert.match(metrics, /critap_faults_injected_total\{[^}]*action="delay"[^}]*\} 1/);
  assert.match(metrics, /critap_faults_injected_total\{[^}]*method="Version"/);
  c.close();
  await p.close();
  closed = true;

  const reader = await openRecording(join(dir, 'rec'));
  const calls = [];
  for await (const call of reader.calls()) calls.push(call);
  await reader.close();
  assert.deepEqual(calls.map((x) => [x.status.code, x.fault]), [
    [14, { ruleId: 1, rule: 'method=Version,error=UNAVAILABLE,count=1', actions: ['error'] }],
    [0, { ruleId: 2, rule: 'method=Version,delay=50ms,count=1', actions: ['delay'] }],
    [0, undefined],
  ]);

  const r = await replay({ recording: join(dir, 'rec'), match: 'sequence', state: false });
  t.after(() => r.close(0));
  const rc = rawClient(r.endpoint);
  t.after(() => rc.close());
  const first = await unaryCall(rc, V, Buffer.alloc(0));
  assert.equal(first.error, undefined, 'the injected UNAVAILABLE is not served as a recorded answer');
  const asked = await replay({ recording: join(dir, 'rec'), match: 'sequence', state: false, injected: true });
  t.after(() => asked.close(0));
  const ac = rawClient(asked.endpoint);
  t.after(() => ac.close());
  assert.equal((await unaryCall(ac, V, Buffer.alloc(0))).error?.code, grpc.status.UNAVAILABLE, 'unless asked: injected: true serves it');
});
