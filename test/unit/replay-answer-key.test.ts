import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallRecord } from '../../src/call.js';
import { SHARED_ANSWER_MAX_BYTES, sharedAnswerKey } from '../../src/replay/answer-key.js';

function call(over: Partial<CallRecord> = {}): CallRecord {
  return {
    method: '/runtime.v1.RuntimeService/Version',
    startNs: 1n,
    durationNs: 1000,
    requests: [{ offsetNs: 0, data: Buffer.from('req') }],
    responses: [{ offsetNs: 500, data: Buffer.from([0x0a, 0x03, 0x30, 0x2e, 0x31]) }],
    status: { code: 0, message: '' },
    end: 'trailers',
    requestMetadata: [['user-agent', 'a']],
    responseHeaders: [['content-type', 'application/grpc']],
    responseTrailers: [['grpc-status', '0']],
    requestBytes: 8,
    responseBytes: 10,
    ...over,
  };
}

test('calls recorded with the same answer share a key, whatever their requests, times and ids', () => {
  const a = sharedAnswerKey(call());
  assert.equal(typeof a, 'string');
  const b = sharedAnswerKey(
    call({ startNs: 99n, durationNs: 7, requests: [{ offsetNs: 0, data: Buffer.from('other') }], requestMetadata: [], responses: [{ offsetNs: 9, data: Buffer.from([0x0a, 0x03, 0x30, 0x2e, 0x31]) }] }),
  );
  assert.equal(a, b);
});

test('any difference in what the answer sends gives another key', () => {
  const base = sharedAnswerKey(call());
  const changed: Array<[string, Partial<CallRecord>]> = [
    ['method', { method: '/runtime.v1.RuntimeService/Status' }],
    ['end', { end: 'client-reset' }],
    ['status code', { status: { code: 5, message: '' } }],
    ['status message', { status: { code: 0, message: 'x' } }],
    ['status details', { status: { code: 0, message: '', details: Buffer.from([1]) } }],
    ['a header value', { responseHeaders: [['content-type', 'application/grpc+proto']] }],
    ['one header more', { responseHeaders: [['content-type', 'application/grpc'], ['x', '']] }],
    ['a trailer', { responseTrailers: [['grpc-status', '0'], ['grpc-message', '']] }],
    ['a header moved to the trailers', { responseHeaders: [], responseTrailers: [['content-type', 'application/grpc'], ['grpc-status', '0']] }],
    ['the bytes', { responses: [{ offsetNs: 500, data: Buffer.from([0x0a, 0x03, 0x30, 0x2e, 0x32]) }] }],
    ['compression', { responses: [{ offsetNs: 500, data: Buffer.from([0x0a, 0x03, 0x30, 0x2e, 0x31]), compressed: true }] }],
    ['one message more', { responses: [{ offsetNs: 500, data: Buffer.from([0x0a, 0x03, 0x30, 0x2e, 0x31]) }, { offsetNs: 600, data: Buffer.alloc(0) }] }],
    ['no message', { responses: [] }],
  ];
  const seen = new Set([base]);
  for (const [what, over] of changed) {
    const k = sharedAnswerKey(call(over));
    assert.notEqual(k, base, what);
    assert.ok(!seen.has(k), `${what}: a key another change also gave`);
    seen.add(k);
  }
});

test('fields are told apart by length: a name and value split differently is another answer', () => {
  const one = sharedAnswerKey(call({ responseHeaders: [['ab', 'c']] }));
  const two = sharedAnswerKey(call({ responseHeaders: [['a', 'bc']] }));
  const three = sharedAnswerKey(call({ responseHeaders: [['a', 'b'], ['', 'c']] }));
  assert.notEqual(one, two);
  assert.notEqual(one, three);
  assert.notEqual(two, three);
});

test('large answers and bodies held elsewhere are not shared', () => {
  assert.equal(sharedAnswerKey(call({ responses: [{ offsetNs: 0, data: Buffer.alloc(SHARED_ANSWER_MAX_BYTES + 1) }] })), undefined);
  assert.equal(typeof sharedAnswerKey(call({ responses: [{ offsetNs: 0, data: Buffer.alloc(SHARED_ANSWER_MAX_BYTES) }] })), 'string');
  assert.equal(sharedAnswerKey(call({ responses: [{ offsetNs: 0, data: Buffer.alloc(0), spooled: { id: 1, length: 10 } }] })), undefined);
});
