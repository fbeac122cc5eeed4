/**
 * `critap replay --fault` / replay({ faults }): each action and condition as a grpc-js client
 * sees it, rules changed live through the handle, pod= resolved from earlier answers, and calls
 * beside a delayed one answered without waiting for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { replay } from '../../src/replay/index.js';
import { makeCriClient } from '../support/cri-client.js';
import { SEED } from './replay-helpers.js';

async function code(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  return { code: 0, details: '' };
}

async function started(faults: string[]) {
  const runtime = await replay({ recording: SEED, faults });
  const cri = makeCriClient(runtime.endpoint);
  return { runtime, cri, async close() { cri.close(); await runtime.close(0); } };
}

test('error with and without message, count and after: critap answers, then the recording does', async (t) => {
  const r = await started(['method=Version,error=UNAVAILABLE,message=runtime restarting,count=2', 'method=Status,error=RESOURCE_EXHAUSTED,after=1,count=1']);
  t.after(() => r.close());
  const answered = r.runtime.answered();
  assert.deepEqual(await code(r.cri.runtime('Version', { version: 'v1' })), { code: grpc.status.UNAVAILABLE, details: 'runtime restarting' });
  assert.deepEqual(await code(r.cri.runtime('Version', { version: 'v1' })), { code: grpc.status.UNAVAILABLE, details: 'runtime restarting' });
  assert.equal(r.runtime.answered(), answered, 'injected errors never reach the recording');
  assert.equal((await r.cri.runtime('Version', { version: 'v1' })).runtime_name, 'containerd');
  assert.equal((await code(r.cri.runtime('Status', {}))).code, 0);
  const second = await code(r.cri.runtime('Status', {}));
  assert.equal(second.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.match(second.details, /critap: injected fault \(rule 2: method=Status,error=RESOURCE_EXHAUSTED,after=1,count=1\)/);
  assert.equal((await code(r.cri.runtime('Status', {}))).code, 0);
  assert.deepEqual(r.runtime.faults.list().map((f) => [f.id, f.matched, f.fired, f.spent]), [[1, 2, 2, true], [2, 2, 1, true]]);
});

test('delay and delay-response answer late with the recorded answer; hang ends at the deadline; reset is INTERNAL', async (t) => {
  const r = await started(['method=Version,delay=400ms', 'method=Status,delay-response=400ms', 'method=ImageFsInfo,hang', 'method=ListImages,reset']);
  t.after(() => r.close());
  let t0 = performance.now();
  assert.equal((await r.cri.runtime('Version', { version: 'v1' })).runtime_name, 'containerd');
  assert.ok(performance.now() - t0 >= 390, 'delayed');
  t0 = performance.now();
  assert.ok((await r.cri.runtime('Status', {})).status);
  assert.ok(performance.now() - t0 >= 390, 'answer delayed');
  const hung = await code(r.cri.image('ImageFsInfo', {}, { timeoutMs: 300 }));
  assert.equal(hung.code, grpc.status.DEADLINE_EXCEEDED);
  const reset = await code(r.cri.image('ListImages', {}));
  assert.equal(reset.code, grpc.status.INTERNAL);
  // A delay longer than the client's deadline: DEADLINE_EXCEEDED, not a late answer.
  assert.equal((await code(r.cri.runtime('Version', { version: 'v1' }, { timeoutMs: 100 }))).code, grpc.status.DEADLINE_EXCEEDED);
  // The connection is still good after all of that.
  r.runtime.faults.clear();
  assert.equal((await r.cri.runtime('Version', { version: 'v1' })).runtime_name, 'containerd');
  assert.ok((await r.cri.image('ListImages', {})).images.length > 0);
});

test('100 calls beside a delayed call on the same connection are all answered before it', async (t) => {
  const r = await started(['method=Version,delay=1500ms']);
  t.after(() => r.close());
  await r.cri.runtime('Status', {}); // connected
  const order: string[] = [];
  const slow = r.cri.runtime('Version', { version: 'v1' }).then(() => order.push('delayed'));
  await Promise.all(Array.from({ length: 100 }, () => r.cri.runtime('Status', {}).then(() => order.push('other'))));
  await slow;
  assert.equal(order.length, 101);
  assert.equal(order.indexOf('delayed'), 100, 'no undelayed call waited for the delayed one');
});

test('rules are added and cleared live; pod= matches calls that name only the sandbox id', async (t) => {
  const r = await started([]);
  t.after(() => r.close());
  const config = (name: string) => ({ config: { metadata: { name, namespace: 'faults', uid: `uid-${name}`, attempt: 0 } } });
  r.runtime.faults.add('method=RunPodSandbox,pod=web-0,error=UNAVAILABLE,count=1');
  r.runtime.faults.add('method=StopPodSandbox,pod=web-0,namespace=faults,error=FAILED_PRECONDITION');
  assert.throws(() => r.runtime.faults.add('method=StopPodSanbox,error=INTERNAL'), /did you mean "StopPodSandbox"/);
  assert.equal((await code(r.cri.runtime('RunPodSandbox', config('web-0')))).code, grpc.status.UNAVAILABLE);
  const other = await r.cri.runtime('RunPodSandbox', config('other'));
  const web = await r.cri.runtime('RunPodSandbox', config('web-0'));
  assert.notEqual(web.pod_sandbox_id, other.pod_sandbox_id);
  assert.equal((await code(r.cri.runtime('StopPodSandbox', { pod_sandbox_id: other.pod_sandbox_id }))).code, 0);
  assert.equal((await code(r.cri.runtime('StopPodSandbox', { pod_sandbox_id: web.pod_sandbox_id }))).code, grpc.status.FAILED_PRECONDITION);
  r.runtime.faults.clear();
  assert.equal((await code(r.cri.runtime('StopPodSandbox', { pod_sandbox_id: web.pod_sandbox_id }))).code, 0);
});

test('a bad rule fails replay() before it listens, with the suggestion', async () => {
  await assert.rejects(replay({ recording: SEED, faults: ['method=RunPodSandox,error=UNAVAILABLE'] }), /did you mean "RunPodSandbox"/);
});
