/**
 * `critap proxy` fault injection against the fake runtime: each action as a grpc-js client sees
 * it, the runtime never seeing an injected error, undelayed calls on the same connection not
 * waiting for a delayed one, and HPACK / flow control staying whole with many streams and
 * faults mixed on one connection (large bodies, reused headers, rules added live).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startSetup, within } from './proxy-harness.js';
import { streamCall, tempSocketPath, unaryCall, type UnaryHandler } from '../support/fake-upstream.js';
import { startProxy } from '../../src/proxy/proxy.js';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';

const V = '/runtime.v1.RuntimeService/Version';
const S = '/runtime.v1.RuntimeService/Status';
const RUN = '/runtime.v1.RuntimeService/RunPodSandbox';
const LIST = '/runtime.v1.RuntimeService/ListContainers';

function upstream(seen: string[]): Record<string, UnaryHandler> {
  const echo = (path: string): UnaryHandler => (call, cb) => {
    seen.push(path);
    const md = new grpc.Metadata();
    md.set('x-runtime', 'fake');
    call.sendMetadata(md);
    cb(null, Buffer.concat([Buffer.from(path), call.request]));
  };
  return { [V]: echo(V), [S]: echo(S), [RUN]: echo(RUN), [LIST]: echo(LIST) };
}

test('error, delay, delay-response, hang and reset through the proxy; injected errors never reach the runtime', async (t) => {
  const seen: string[] = [];
  const s = await startSetup(t, { unary: upstream(seen) }, { faults: ['method=RunPodSandbox,error=UNAVAILABLE,message=injected by test,count=1', 'method=Version,delay=300ms', 'method=Status,delay-response=300ms'] });
  const c = s.client();
  const failed = await unaryCall(c, RUN, Buffer.from('a'));
  assert.equal(failed.error?.code, grpc.status.UNAVAILABLE);
  assert.equal(failed.error?.details, 'injected by test');
  assert.deepEqual(seen, [], 'the runtime never saw the injected call');
  const ok = await unaryCall(c, RUN, Buffer.from('b'));
  assert.equal(ok.response?.toString(), `${RUN}b`, 'count=1 spent: the next one goes through');
  let t0 = performance.now();
  const delayed = await unaryCall(c, V, Buffer.from('v'));
  assert.ok(performance.now() - t0 >= 290);
  assert.equal(delayed.response?.toString(), `${V}v`);
  assert.equal(delayed.headers?.get('x-runtime')[0], 'fake', 'the runtime\'s response headers come through');
  t0 = performance.now();
  assert.equal((await unaryCall(c, S, Buffer.from('s'))).response?.toString(), `${S}s`);
  assert.ok(performance.now() - t0 >= 290);
  s.proxy.faults!.clear();
  s.proxy.faults!.add('method=Version,hang');
  s.proxy.faults!.add('method=Status,reset');
  const hung = await within(unaryCall(c, V, Buffer.from('h'), new grpc.Metadata(), { deadline: Date.now() + 300 }), 5000, 'hang until deadline');
  assert.equal(hung.error?.code, grpc.status.DEADLINE_EXCEEDED);
  assert.equal((await unaryCall(c, S, Buffer.from('r'))).error?.code, grpc.status.INTERNAL);
  s.proxy.faults!.clear();
  assert.equal((await unaryCall(c, V, Buffer.from('after'))).response?.toString(), `${V}after`, 'the connection is still good');
  const records = await s.sink.waitFor(7);
  assert.deepEqual(records.filter((r) => r.method === RUN).map((r) => r.status.code), [14, 0]);
});

test('100 calls beside a delayed call are answered before it', async (t) => {
  const s = await startSetup(t, { unary: upstream([]) }, { faults: ['method=Version,delay=1500ms'] });
  const c = s.client();
  await unaryCall(c, S, Buffer.from('warm'));
  const order: string[] = [];
  const slow = unaryCall(c, V, Buffer.from('x')).then((r) => { assert.ok(r.response); order.push('delayed'); });
  await Promise.all(Array.from({ length: 100 }, (_, i) => unaryCall(c, S, Buffer.from(String(i))).then((r) => { assert.equal(r.response?.toString(), `${S}${i}`); order.push('other'); })));
  await slow;
  assert.equal(order.indexOf('delayed'), 100);
});

test('many streams with faults mixed on one connection: headers decode and windows hold on both sides', async (t) => {
  const seen: string[] = [];
  const s = await startSetup(t, { unary: upstream(seen) }, { faults: ['method=Version,error=INTERNAL,percent=50', 'method=Status,delay=20ms', 'method=ListContainers,delay-response=10ms'] });
  const c = s.client();
  const big = Buffer.alloc(200_000, 7); // several windows' worth: flow control must be credited back
  const results = await within(Promise.all(Array.from({ length: 300 }, (_, i) => {
    const md = new grpc.Metadata();
    md.set('x-call', `call-${i % 7}`); // repeated values: the client indexes them in its HPACK table
    const path = [V, S, RUN, LIST][i % 4]!;
    const body = i % 10 === 0 ? big : Buffer.from(`r${i}`);
    return unaryCall(c, path, body, md).then((r) => ({ path, body, r }));
  })), 60_000, '300 mixed calls');
  for (const { path, body, r } of results) {
    if (r.error) {
      assert.equal(path, V, `only Version fails: ${r.error.message}`);
      assert.equal(r.error.code, grpc.status.INTERNAL);
      continue;
    }
    assert.deepEqual(r.response, Buffer.concat([Buffer.from(path), body]));
  }
  assert.ok(results.some((x) => x.path === V && x.r.error) && results.some((x) => x.path === V && !x.r.error), 'percent=50 both fired and passed');
  const listed = s.proxy.faults!.list();
  assert.equal(listed[0]!.matched, 75);
  assert.ok(!seen.some((p) => p === V) || seen.filter((p) => p === V).length === 75 - listed[0]!.fired);
});

test('a bad rule fails startProxy with a suggestion, before it listens', async (t) => {
  const listen = tempSocketPath('proxy');
  t.after(() => rm(dirname(listen), { recursive: true, force: true }));
  await assert.rejects(startProxy({ listen, upstream: 'unix:///nonexistent.sock', faults: ['method=Verison,delay=1s'] }), /did you mean "Version"/);
});

test('a delayed server stream relays the runtime\'s messages as they come; a hung one ends when the client cancels', async (t) => {
  const EVENTS = '/runtime.v1.RuntimeService/GetContainerEvents';
  let opened = 0;
  const s = await startSetup(t, {
    stream: {
      [EVENTS]: (call) => {
        opened++;
        call.write(Buffer.from('one'));
        setTimeout(() => { call.write(Buffer.from('two')); call.end(); }, 100);
      },
    },
  }, { faults: ['method=GetContainerEvents,delay=200ms,count=1', 'method=GetContainerEvents,hang'] });
  const c = s.client();
  const got: string[] = [];
  const status = await within(new Promise<grpc.StatusObject>((resolve) => {
    const st = streamCall(c, EVENTS, Buffer.alloc(0));
    st.on('data', (d: Buffer) => got.push(d.toString()));
    st.on('error', () => {});
    st.on('status', resolve);
  }), 5000, 'delayed stream');
  assert.equal(status.code, grpc.status.OK);
  assert.deepEqual(got, ['one', 'two']);
  assert.equal(opened, 1);
  const hung = streamCall(c, EVENTS, Buffer.alloc(0));
  hung.on('error', () => {});
  const ended = new Promise<grpc.StatusObject>((resolve) => hung.on('status', resolve));
  setTimeout(() => hung.cancel(), 200);
  assert.equal((await within(ended, 5000, 'hung stream cancelled')).code, grpc.status.CANCELLED);
  assert.equal(opened, 1, 'the hung stream never reached the runtime');
  const records = await s.sink.waitFor(2);
  assert.deepEqual(records.map((r) => [r.end, r.fault?.actions]), [['trailers', ['delay']], ['client-reset', ['hang']]]);
});
