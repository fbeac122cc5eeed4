/**
 * Value format 3 (src/record/binary-value.ts): what it holds comes back exactly, as the same
 * StoredCall and ValueHeader the JSON formats give; what it cannot hold falls back to JSON; and a
 * damaged value is a ValueDecodeError, never another exception or a silent misread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallRecord } from '../../src/call.js';
import { decodeCallValue, decodeValueHeader, encodeCallValue, encodeJsonValue, mayNameBodyFiles, ValueDecodeError } from '../../src/record/call-codec.js';
import { goldenCalls } from './record-golden-calls.js';
import { makeCall, pullImage, T0, V1 } from './record-fixtures.js';

/** A call that takes every optional field and every kind of table entry and literal. */
function everything(): CallRecord {
  const c = makeCall({
    method: V1 + 'ExecSync',
    request: { containerId: 'c-1', cmd: ['ls'] },
    responses: [{ exitCode: 0 }, { exitCode: 1 }],
    code: 5,
    metadata: [
      ['content-type', 'application/grpc'],
      ['user-agent', 'grpc-go/1.60.1'],
      ['grpc-timeout', '1999872u'],
      ['x-custom', 'ünïcödé ✓ 🚀'],
      ['te', 'trailers'],
      ['grpc-status', '7'], // a name with a value other than its pair's
    ],
  });
  c.responses[1]!.compressed = true;
  c.status = { code: 5, message: 'nöt found: "quoted"\n', details: Buffer.from([8, 5]) };
  c.responseTrailers = [['grpc-status', '5'], ['grpc-message', 'n%C3%B6t found']];
  c.truncated = true;
  c.peer = { pid: 4242, exe: '/usr/bin/kubelet', address: '10.0.0.1:5000' };
  c.fault = { ruleId: 3, rule: 'ExecSync delay=1s', actions: ['delay', 'error'] };
  c.durationNs = 2 ** 50; // well past 32 bits
  c.requestBytes = 2 ** 33;
  return c;
}

const roundTrips = (call: CallRecord, ids: Record<string, string>, redacted?: string[]) => {
  const value = encodeCallValue(call, ids, redacted);
  const json = encodeJsonValue(call, ids, redacted);
  assert.equal(value[0], 3, 'format 3 written');
  assert.ok(value.length < json.length, `format 3 is smaller (${value.length} vs ${json.length} bytes)`);
  const back = decodeCallValue('k', value);
  assert.deepEqual(back, decodeCallValue('k', json), 'the same StoredCall as the JSON format');
  assert.deepEqual(decodeValueHeader(value).header, decodeValueHeader(json).header, 'the same ValueHeader');
  assert.deepEqual(Object.keys(back.ids), Object.keys(ids), 'ids keep their order');
  const { key: _k, ids: _i, redacted: _r, ...rest } = back;
  assert.deepEqual(rest, call);
  assert.deepEqual(back.redacted, redacted);
  assert.ok(!mayNameBodyFiles(value));
  return value;
};

test('format 3 holds every field exactly: literals, table entries, UTF-8, numbers past 32 bits, the bigint start', () => {
  roundTrips(everything(), { containerId: 'c-1', podName: 'nginx', someNewId: 'x' }, ['request', 'metadata:authorization']);
  roundTrips(pullImage(T0), {});
  const unknownMethod = { ...pullImage(T0), method: '/runtime.v1alpha2.ImageService/PullImage', end: 'client-reset' as const };
  roundTrips(unknownMethod, { image: 'img' });
  for (const startNs of [0n, 1n, 0x0102030405060708n, 0x8000000000000001n, (1n << 64n) - 1n]) roundTrips({ ...pullImage(T0), startNs }, {});
  const bare = pullImage(T0);
  delete bare.peer;
  delete bare.authority;
  delete bare.propagatedTraceparent;
  bare.requestMetadata = [];
  bare.responseHeaders = [];
  bare.responseTrailers = [];
  roundTrips(bare, {});
});

test('every golden call reads back from format 3 as from the JSON format', () => {
  for (const [name, call] of goldenCalls()) {
    const value = encodeCallValue(call, { podUid: 'u', containerId: 'c' }, undefined);
    assert.equal(value[0], 3, name);
    assert.deepEqual(decodeCallValue('k', value), decodeCallValue('k', encodeJsonValue(call, { podUid: 'u', containerId: 'c' }, undefined)), name);
  }
});

test('a call format 3 cannot hold exactly is stored in JSON (format 1), and reads back the same', () => {
  const cases: Array<[string, (c: CallRecord) => void]> = [
    ['a lone surrogate', (c) => (c.status.message = 'half \ud800 a pair')],
    ['a negative offset', (c) => (c.responses[0]!.offsetNs = -1)],
    ['a fractional duration', (c) => (c.durationNs = 1.5)],
    ['a start past 2^64 ns', (c) => (c.startNs = 1n << 64n)],
    ['a start before 1970', (c) => (c.startNs = -5n)],
    ['a header of another shape', (c) => (c.requestMetadata = [['a', 'b', 'c'] as unknown as [string, string]])],
    ['a non-string header value', (c) => (c.responseHeaders = [['x', 5 as unknown as string]])],
    ['a peer with a nested value', (c) => (c.peer = { exe: 'x', nested: { a: 1 } } as unknown as CallRecord['peer'])],
    ['an unknown end', (c) => (c.end = 'exploded' as CallRecord['end'])],
  ];
  for (const [what, change] of cases) {
    const call = pullImage(T0);
    change(call);
    const value = encodeCallValue(call, { image: 'i' }, undefined);
    assert.equal(value[0], 1, what);
    assert.ok(value.equals(encodeJsonValue(call, { image: 'i' }, undefined)), what);
    assert.equal(decodeCallValue('k', value).startNs, call.startNs, what);
  }
  // After a fallback part way through a header list, the next call's lists are written afresh.
  const odd = pullImage(T0);
  odd.requestMetadata = [['content-type', 'application/grpc'], ['x', 5 as unknown as string]];
  assert.equal(encodeCallValue(odd, {}, undefined)[0], 1);
  const next = pullImage(T0);
  assert.deepEqual(decodeCallValue('k', encodeCallValue(next, {}, undefined)).requestMetadata, next.requestMetadata);
});

test('header lists repeated call after call (the encoder copies their last bytes) read back each time', () => {
  const shared = pullImage(T0);
  const a = { ...pullImage(T0), requestMetadata: shared.requestMetadata };
  const b = { ...pullImage(T0 + 1n), requestMetadata: shared.requestMetadata, responseTrailers: [['grpc-status', '2'] as [string, string]] };
  for (const c of [a, b, a, b]) assert.deepEqual(decodeCallValue('k', encodeCallValue(c, {}, undefined)).responseTrailers, c.responseTrailers);
});

/** Decodes, expecting either a clean result or a ValueDecodeError (anything else fails the test). */
function decodesOrRefuses(value: Buffer, what: string): 'ok' | 'refused' {
  try {
    decodeCallValue('k', value);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof ValueDecodeError, `${what}: ${String(err)}`);
    assert.match((err as Error).message, /\S/);
    return 'refused';
  }
}

test('every truncation of a format 3 value is a ValueDecodeError', () => {
  const value = encodeCallValue(everything(), { containerId: 'c-1' }, ['request']);
  for (let n = 0; n < value.length; n++) assert.equal(decodesOrRefuses(value.subarray(0, n), `first ${n} bytes`), 'refused', `first ${n} of ${value.length} bytes`);
  assert.equal(decodesOrRefuses(Buffer.concat([value, Buffer.from([0])]), 'a stray byte'), 'refused');
});

test('a corrupted format 3 value never throws anything but ValueDecodeError', () => {
  const value = encodeCallValue(everything(), { containerId: 'c-1', podName: 'p' }, ['request']);
  let refused = 0;
  for (let i = 1; i < value.length; i++) {
    for (const b of [0x00, 0x01, 0x7f, 0x80, 0xff, value[i]! ^ 0x04]) {
      const bad = Buffer.from(value);
      bad[i] = b;
      if (decodesOrRefuses(bad, `byte ${i} = ${b}`) === 'refused') refused++;
    }
  }
  assert.ok(refused > value.length, `most corruptions are caught (${refused})`);
  // Unknown table codes and impossible counts name what broke.
  const unknownMethod = Buffer.from(value);
  unknownMethod[2] = 0x7f;
  assert.throws(() => decodeValueHeader(unknownMethod), /value format 3: method has an unknown code 127/);
  assert.throws(() => decodeValueHeader(value.subarray(0, 5)), /value format 3: startNs runs past the value/);
  assert.throws(() => decodeValueHeader(Buffer.from([3])), /too short/);
});

test('a random stream of bytes behind format 3 is a ValueDecodeError or a call, never a crash', () => {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff;
  for (let i = 0; i < 2000; i++) {
    const bytes = Buffer.alloc(2 + (i % 60), 0);
    for (let j = 0; j < bytes.length; j++) bytes[j] = next();
    bytes[0] = 3;
    decodesOrRefuses(bytes, `random value ${i}`);
  }
});

test('ids and peers of any prototype are written key by key in their own order, leaving undefined out', () => {
  const plain = { containerId: 'c-1', 2: 'two', podName: 'p', gone: undefined, 1: 'one' } as unknown as Record<string, string>;
  const bare = Object.assign(Object.create(null) as Record<string, string>, { podUid: 'u', zeta: 'z', alpha: 'a' });
  class Ids {
    containerId = 'c-2';
    extra = 'e';
  }
  const inherited = Object.assign(Object.create({ lent: 'not own' }) as Record<string, string>, { image: 'img' });
  for (const [what, ids] of [['plain', plain], ['null prototype', bare], ['a class', new Ids() as unknown as Record<string, string>], ['inherited keys', inherited]] as const) {
    const value = encodeCallValue(pullImage(T0), ids, undefined);
    assert.equal(value[0], 3, what);
    const back = decodeCallValue('k', value).ids;
    assert.deepEqual(Object.entries(back), Object.entries(ids).filter(([, v]) => v !== undefined), what);
  }
  const call = pullImage(T0);
  call.peer = Object.assign(Object.create(null) as NonNullable<CallRecord['peer']>, { exe: '/bin/x', pid: 7 });
  assert.deepEqual({ ...decodeCallValue('k', encodeCallValue(call, {}, undefined)).peer }, { exe: '/bin/x', pid: 7 });
});

test('a long header list repeated call after call reads back each time', () => {
  const long = [['x-long', 'v'.repeat(2000)], ['content-type', 'application/grpc']] as [string, string][];
  for (let i = 0; i < 3; i++) {
    const c = { ...pullImage(T0 + BigInt(i)), requestMetadata: long };
    assert.deepEqual(decodeCallValue('k', encodeCallValue(c, {}, undefined)).requestMetadata, long);
  }
});

test('a header list read again is the same frozen list: calls of a loaded recording share it', () => {
  const md = [['content-type', 'application/grpc'], ['user-agent', 'kubelet/v1.26.0 (linux/amd64)'], ['x-id', 'a'.repeat(40)]] as [string, string][];
  const first = decodeCallValue('k1', encodeCallValue({ ...pullImage(T0), requestMetadata: md }, {}, undefined));
  const second = decodeCallValue('k2', encodeCallValue({ ...pullImage(T0 + 5n), requestMetadata: [...md] }, {}, undefined));
  assert.equal(first.requestMetadata, second.requestMetadata, 'one list for both calls');
  assert.deepEqual(second.requestMetadata, md);
  assert.ok(Object.isFrozen(first.requestMetadata) && first.requestMetadata.every((h) => Object.isFrozen(h)));
  // Changing a shared list would change every call that holds it: it throws instead.
  assert.throws(() => (first.requestMetadata as [string, string][]).push(['x', 'y']), TypeError);
  assert.throws(() => {
    first.requestMetadata[0]![1] = 'changed';
  }, TypeError);
  // Another value is another list; a long list is read afresh each time (and may be changed).
  const other = decodeCallValue('k3', encodeCallValue({ ...pullImage(T0), requestMetadata: [['content-type', 'application/grpc']] }, {}, undefined));
  assert.notEqual(other.requestMetadata, first.requestMetadata);
  const long = [['x-long', 'v'.repeat(600)]] as [string, string][];
  const l1 = decodeCallValue('k4', encodeCallValue({ ...pullImage(T0), requestMetadata: long }, {}, undefined)).requestMetadata;
  const l2 = decodeCallValue('k5', encodeCallValue({ ...pullImage(T0), requestMetadata: long }, {}, undefined)).requestMetadata;
  assert.notEqual(l1, l2);
  assert.deepEqual(l2, long);
});
