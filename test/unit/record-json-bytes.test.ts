import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallRecord } from '../../src/call.js';
import { decodeCallValue, decodeValueHeader, encodeJsonValue } from '../../src/record/call-codec.js';
import { JsonBytes } from '../../src/record/json-bytes.js';
import { versionCall } from './record-fixtures.js';
import { goldenCalls } from './record-golden-calls.js';

const written = (fill: (w: JsonBytes) => void): string => {
  const w = new JsonBytes(8); // small, so growing is exercised too
  fill(w);
  return w.buf.toString('utf8', 0, w.pos);
};

const STRINGS = [
  '',
  'plain ascii /runtime.v1.RuntimeService/Version',
  'quote " and backslash \\',
  'controls \b\f\n\r\t\u0000\u001f and DEL \u007f',
  'non-ascii: nöde-ü, 日本, emoji 😀',
  'lone surrogates \ud800 and \udfff',
  'x'.repeat(5000),
];

test('strings are written as JSON.stringify writes them', () => {
  for (const s of STRINGS) assert.equal(written((w) => w.string(s)), JSON.stringify(s), JSON.stringify(s));
});

test('numbers are written as JSON.stringify writes them', () => {
  const numbers = [0, -0, 1, 9, 10, 99, 100, 412_345, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 1e21, -1, -412.5, 0.1, 1e-7, NaN, Infinity, -Infinity];
  for (const n of numbers) assert.equal(written((w) => w.number(n)), JSON.stringify(n), String(n));
});

test('values of open shape and string arrays are JSON.stringify bytes', () => {
  const values = [{ pid: 42, exe: '/usr/bin/kubelet' }, { ruleId: 2, rule: 'Version error=UNAVAILABLE', actions: ['error'] }, null, [1, 'ü']];
  for (const v of values) assert.equal(written((w) => w.value(v)), JSON.stringify(v));
  assert.equal(written((w) => w.value(undefined)), '');
  assert.equal(written((w) => w.strings(['a', 'b"c', 'ü'])), JSON.stringify(['a', 'b"c', 'ü']));
});

/** The header as encodeCallValue wrote it with JSON.stringify, before it wrote the JSON itself. */
function headerByStringify(call: CallRecord, ids: object, redacted: string[] | undefined): string {
  const ref = (m: CallRecord['requests'][number]) =>
    m.spooled?.file !== undefined ? [m.offsetNs, m.spooled.length, m.compressed ? 1 : 0, m.spooled.file] : [m.offsetNs, m.data.length, m.compressed ? 1 : 0];
  const details = call.status.details;
  return JSON.stringify({
    method: call.method,
    startNs: call.startNs.toString(),
    durationNs: call.durationNs,
    end: call.end,
    status: { code: call.status.code, message: call.status.message, details: details ? details.length : undefined },
    requests: call.requests.map(ref),
    responses: call.responses.map(ref),
    requestMetadata: call.requestMetadata,
    responseHeaders: call.responseHeaders,
    responseTrailers: call.responseTrailers,
    requestBytes: call.requestBytes,
    responseBytes: call.responseBytes,
    ids,
    truncated: call.truncated ? true : undefined,
    peer: call.peer ? call.peer : undefined,
    authority: call.authority,
    propagatedTraceparent: call.propagatedTraceparent,
    fault: call.fault,
    redacted: redacted && redacted.length > 0 ? redacted : undefined,
  });
}

test('the JSON value header (formats 1 and 2) is the bytes JSON.stringify gave, for odd calls too', () => {
  const odd = versionCall();
  odd.status = { code: 2, message: 'failed: "quoted" \\ \n ünïcode \ud800', details: Buffer.from([1, 2, 3]) };
  odd.requestMetadata = [...odd.requestMetadata, ['x-odd', 'tab\there'], ['x-ü', 'ü']];
  odd.durationNs = 1234.5;
  odd.truncated = true;
  odd.fault = { ruleId: 1, rule: 'Version delay=1s', actions: ['delay'] };
  odd.responses = [
    { offsetNs: 10, data: Buffer.from('ab'), compressed: true },
    { offsetNs: 20, data: Buffer.alloc(0), spooled: { id: 1, file: 'body-"1"', length: 9000 } },
  ];
  const calls: Array<[CallRecord, object, string[] | undefined]> = goldenCalls().map(([, call]) => [call, {}, undefined]);
  calls.push([odd, { containerId: 'c-ü', podName: undefined, image: 'img' } as object, ['request', 'metadata:"x"']]);
  for (const [call, ids, redacted] of calls) {
    const value = encodeJsonValue(call, ids, redacted);
    const { header, bodyStart } = decodeValueHeader(value);
    assert.equal(value.toString('utf8', 5, bodyStart), headerByStringify(call, ids, redacted), call.method);
    assert.equal(header.method, call.method);
  }
  // The bodies follow the header, in order, and read back.
  const plain = versionCall();
  plain.status.details = Buffer.from([7, 8]);
  const back = decodeCallValue('k', encodeJsonValue(plain, {}, undefined));
  assert.deepEqual(back.requests[0]!.data, plain.requests[0]!.data);
  assert.deepEqual(back.responses[0]!.data, plain.responses[0]!.data);
  assert.deepEqual(back.status.details, plain.status.details);
});
