/**
 * 64 MiB messages (the CRI's largest, e.g. ListContainers on a big node) pass through with
 * every byte intact and are captured whole. One at a time: each copy costs 64 MiB of memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { unaryCall } from '../support/fake-upstream.js';
import { sha256, startSetup } from './proxy-harness.js';

const MiB = 1024 * 1024;
const PATH = '/runtime.v1.RuntimeService/ListContainers';
/** Big enough to keep a 64 MiB body (the default limit is lower: it is a memory bound, not the point here). */
const CAPTURE_ALL = { captureLimit: 65 * MiB, captureBudget: 65 * MiB };

function bigPayload(seedByte: number): Buffer {
  // Random bytes so that a dropped or repeated chunk anywhere changes the hash.
  const b = Buffer.allocUnsafe(64 * MiB);
  randomFillSync(b);
  b[0] = seedByte;
  return b;
}

test('a 64 MiB request passes with bytes equal (sha256) and is captured whole', async (t) => {
  let request: Buffer | null = bigPayload(1);
  const want = sha256(request);
  let got = '';
  const s = await startSetup(t, {
    unary: {
      [PATH]: (call, cb) => {
        got = sha256(call.request);
        cb(null, Buffer.from('received'));
      },
    },
  }, CAPTURE_ALL);
  const r = await unaryCall(s.client(), PATH, request);
  request = null;
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(got, want, 'the runtime received the same 64 MiB');
  const [c] = await s.sink.waitFor(1);
  assert.equal(c!.requestBytes, 64 * MiB + 5);
  assert.equal(c!.truncated, undefined);
  assert.equal(sha256(c!.requests[0]!.data), want, 'the sink got the same 64 MiB');
  s.sink.calls.length = 0;
  await s.close();
});

test('a 64 MiB response passes with bytes equal (sha256) and is captured whole', async (t) => {
  let response: Buffer | null = bigPayload(2);
  const want = sha256(response);
  const s = await startSetup(t, {
    unary: {
      [PATH]: (_call, cb) => {
        cb(null, response!);
        response = null;
      },
    },
  }, CAPTURE_ALL);
  const r = await unaryCall(s.client(), PATH, Buffer.from('list'));
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(sha256(r.response!), want, 'the client received the same 64 MiB');
  const [c] = await s.sink.waitFor(1);
  assert.equal(c!.responseBytes, 64 * MiB + 5);
  assert.equal(sha256(c!.responses[0]!.data), want);
  s.sink.calls.length = 0;
  await s.close();
});

test('a body over the capture limit is forwarded whole but only counted by the sink', async (t) => {
  const body = Buffer.alloc(3 * MiB, 0x61);
  let got = '';
  const s = await startSetup(
    t,
    {
      unary: {
        [PATH]: (call, cb) => {
          got = sha256(call.request);
          cb(null, call.request.subarray(0, 10));
        },
      },
    },
    { captureLimit: MiB },
  );
  const r = await unaryCall(s.client(), PATH, body);
  assert.equal(r.error, undefined);
  assert.equal(got, sha256(body));
  const [c] = await s.sink.waitFor(1);
  assert.equal(c!.truncated, true);
  assert.deepEqual(c!.requests, [], 'not kept');
  assert.equal(c!.requestBytes, 3 * MiB + 5, 'but counted');
  assert.deepEqual(c!.responses.map((m) => m.data.toString()), ['aaaaaaaaaa']);
  await s.close();
});
