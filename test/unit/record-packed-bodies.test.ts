import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { CallRecord } from '../../src/call.js';
import { bodyFilesOf, decodeCallValue, decodeValueHeader, encodeCallValue, encodeJsonValue } from '../../src/record/call-codec.js';
import { BodyFileError } from '../../src/record/body-store.js';
import { PACK_FROM_BYTES, packBody, unpackBody } from '../../src/record/packed-bodies.js';
import { SPOOL_FROM_BYTES } from '../../src/proxy/capture-budget.js';
import { ValueDecodeError } from '../../src/record/value-error.js';
import { makeCall } from './record-fixtures.js';

/** A body like a relist's answer: repeated structure, random-looking ids (compresses about 5:1). */
function listLike(bytes: number): Buffer {
  // A copy, not a view: a Buffer of its own ArrayBuffer.
  const parts: string[] = [];
  for (let i = 0; parts.join('').length < bytes; i++) {
    parts.push(`{"id":"${createHash('sha256').update(String(i)).digest('hex')}","labels":{"io.kubernetes.pod.namespace":"team-a","app":"web"}}`);
  }
  return Buffer.from(Buffer.from(parts.join('')).subarray(0, bytes));
}

function callWith(responses: Buffer[], request = Buffer.from('req')): CallRecord {
  const call = makeCall({ method: '/runtime.v1.RuntimeService/ListContainers' });
  return { ...call, requests: [{ offsetNs: 0, data: request }], responses: responses.map((data, i) => ({ offsetNs: 1000 * (i + 1), data })) };
}

const roundTrip = (call: CallRecord) => {
  const value = encodeCallValue(call, {}, undefined);
  return { value, back: decodeCallValue('k', value) };
};

test('a large body that compresses is stored packed (value format 4) and reads back byte for byte', () => {
  const body = listLike(100_000);
  const { value, back } = roundTrip(callWith([body]));
  assert.equal(value[0], 4);
  assert.ok(value.length < body.length / 2, `stored in ${value.length} bytes`);
  assert.ok(back.responses[0]!.data.equals(body));
  // The header keeps the body's own length (what ls and stats count) and the stored one.
  const ref = decodeValueHeader(value).header.responses[0]!;
  assert.equal(ref[1], body.length);
  assert.equal(ref[3], undefined);
  assert.ok(typeof ref[4] === 'number' && ref[4] < body.length / 2);
});

test('small bodies, bodies that do not compress and bodies for a file of their own stay as they are (format 3)', () => {
  const cases: Array<[string, Buffer]> = [
    ['just under the threshold', listLike(PACK_FROM_BYTES - 1)],
    ['random bytes', randomBytes(100_000)],
  ];
  for (const [what, body] of cases) {
    const { value, back } = roundTrip(callWith([body]));
    assert.equal(value[0], 3, what);
    assert.ok(back.responses[0]!.data.equals(body), what);
  }
  assert.ok(packBody(listLike(PACK_FROM_BYTES)), 'from the threshold on it packs');
  assert.equal(packBody(Buffer.alloc(SPOOL_FROM_BYTES, 0x61)), undefined, 'a body the size of a body file is left to the file');
});

test('packed and plain bodies, in order, with the gRPC compressed flag and status details', () => {
  const big = listLike(60_000);
  const other = listLike(50_000).reverse();
  const call = callWith([Buffer.from("small"), big, other], Buffer.from(listLike(40_000)));
  call.responses[1]!.compressed = true;
  call.status = { code: 5, message: 'gone', details: Buffer.from('details-bytes') };
  const { value, back } = roundTrip(call);
  assert.equal(value[0], 4);
  assert.deepEqual(back.requests.map((m) => m.data), call.requests.map((m) => m.data));
  assert.deepEqual(back.responses.map((m) => m.data), call.responses.map((m) => m.data));
  assert.deepEqual(back.responses.map((m) => m.offsetNs), [1000, 2000, 3000]);
  assert.deepEqual(back.responses.map((m) => m.compressed === true), [false, true, false]);
  assert.ok(back.status.details?.equals(Buffer.from('details-bytes')));
});

test('a body in a file and a packed body in the same value', () => {
  const call = callWith([listLike(70_000)]);
  call.requests = [{ offsetNs: 0, data: Buffer.alloc(0), spooled: { id: 1, length: 5_000_000, file: 'b-1' } }];
  const value = encodeCallValue(call, {}, undefined);
  assert.equal(value[0], 4);
  const back = decodeCallValue('k', value, (file, length) => {
    assert.deepEqual([file, length], ['b-1', 5_000_000]);
    return Buffer.from('from the file');
  });
  assert.equal(back.requests[0]!.data.toString(), 'from the file');
  assert.ok(back.responses[0]!.data.equals(call.responses[0]!.data));
});

test('a damaged packed body is a clear error, and a damaged length cannot make it allocate more', () => {
  const body = listLike(100_000);
  const value = encodeCallValue(callWith([body]), {}, undefined);
  const damaged = Buffer.from(value);
  // The packed bytes are the value's tail: overwrite their middle.
  damaged.fill(0xff, damaged.length - 2000, damaged.length - 1000);
  assert.throws(() => decodeCallValue('k', damaged), (err: unknown) => err instanceof ValueDecodeError && /packed body/.test(err.message));

  const packed = packBody(body)!;
  assert.ok(unpackBody(packed, body.length).equals(body));
  assert.throws(() => unpackBody(packed, body.length - 1), ValueDecodeError);
  assert.throws(() => unpackBody(packed, body.length + 1), /unpacks to 100000 bytes, and the value says 100001/);
  assert.throws(() => unpackBody(Buffer.from('not brotli at all'), 10), ValueDecodeError);
});

test('a body packed again is found among the last few (a relist repeats its answer), and a changed byte is not', () => {
  const body = listLike(90_000);
  const first = packBody(body)!;
  assert.equal(packBody(Buffer.from(body)), first, 'the same bytes again: the packed form remembered');
  const changed = Buffer.from(body);
  changed[45_000] ^= 1;
  const other = packBody(changed)!;
  assert.notEqual(other, first);
  assert.ok(unpackBody(other, changed.length).equals(changed));
  const noise = randomBytes(50_000);
  assert.equal(packBody(noise), undefined, "random bytes do not pack");
  assert.equal(packBody(Buffer.from(noise)), undefined, "nor when asked again");
});

test('a body unpacked again is a copy of its own: what one reader does to it no other reader sees', () => {
  const body = listLike(80_000);
  const packed = packBody(body)!;
  const a = unpackBody(packed, body.length);
  a.fill(0);
  const b = unpackBody(Buffer.from(packed), body.length);
  assert.ok(b.equals(body));
  assert.notEqual(a, b);
  assert.throws(() => unpackBody(packed, body.length + 5), ValueDecodeError, 'a remembered body still checks the length');
});

test('a packed body in a file (a repeated body kept once): binary and JSON headers name the file and its packed length, and the reader unpacks it', () => {
  const body = listLike(90_000);
  const packed = packBody(body)!;
  const call = callWith([]);
  call.responses = [{ offsetNs: 1000, data: Buffer.alloc(0), compressed: true, spooled: { id: 0, length: body.length, file: 'kept-1', packedLength: packed.length } }];
  const files: Record<string, Buffer> = { 'kept-1': packed };
  const readFile = (file: string, length: number) => {
    const data = files[file]!;
    if (data.length !== length) throw new BodyFileError(file, `holds ${data.length} bytes, not ${length}`);
    return data;
  };
  for (const [what, value] of [['binary', encodeCallValue(call, {}, undefined)], ['JSON', encodeJsonValue(call, {}, undefined)]] as const) {
    assert.equal(value[0], what === 'binary' ? 4 : 2, what);
    const { header } = decodeValueHeader(value);
    assert.deepEqual(header.responses[0], [1000, body.length, 1, 'kept-1', packed.length], what);
    assert.deepEqual(bodyFilesOf(header), [{ file: 'kept-1', length: packed.length }], `${what}: the file's own size is what it holds`);
    const back = decodeCallValue('k', value, readFile);
    assert.ok(back.responses[0]!.data.equals(body), what);
    assert.equal(back.responses[0]!.compressed, true, what);
  }
  // A kept file that does not unpack is a lost body (salvage reads the call without it), not an undecodable value.
  files['kept-1'] = Buffer.alloc(packed.length, 0xff);
  assert.throws(() => decodeCallValue('k', encodeCallValue(call, {}, undefined), readFile), (err: unknown) => err instanceof BodyFileError && /does not unpack/.test(err.message));
});
