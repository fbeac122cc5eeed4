import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../../src/proxy/proxy.js';
import type { CallRecord, CallSink } from '../../src/call.js';
import { rawClient, startFakeUpstream, tempSocketPath, unaryCall } from '../support/fake-upstream.js';

test('smoke: a unary call goes through and is observed', async () => {
  const up = await startFakeUpstream({ unary: { '/runtime.v1.RuntimeService/Version': (call, cb) => cb(null, Buffer.concat([Buffer.from('pong:'), call.request])) } });
  const calls: CallRecord[] = [];
  const sink: CallSink = { needsBodies: true, onCallEnd: (c) => calls.push(c) };
  const proxy = await startProxy({ listen: tempSocketPath('proxy'), upstream: up.endpoint, sinks: [sink] });
  const client = rawClient(proxy.endpoint);
  const r = await unaryCall(client, '/runtime.v1.RuntimeService/Version', Buffer.from('ping'));
  assert.equal(r.response?.toString(), 'pong:ping');
  client.close();
  await proxy.close(100);
  await up.close();
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.method, '/runtime.v1.RuntimeService/Version');
  assert.equal(calls[0]!.requests[0]!.data.toString(), 'ping');
  assert.equal(calls[0]!.responses[0]!.data.toString(), 'pong:ping');
  assert.equal(calls[0]!.status.code, 0);
  console.log(calls[0]);
});
