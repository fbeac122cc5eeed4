/**
 * Spooled bodies, piece by piece: the assembler hands a large body over in parts (and says when
 * it is cut off or refused), parts cross the thread boundary moved, the body store appends them
 * to a file and scrubs remembered secrets in place, window by window, and part buffers are used
 * again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageAssembler, type SpoolOptions } from '../../src/wire/grpc-messages.js';
import { packBatch, unpackBatch } from '../../src/observe/transfer.js';
import { BodySpool, BODIES_DIR, readBodyFile, scrubBodyFile, BodyFileError } from '../../src/record/body-store.js';
import { SecretMemory } from '../../src/record/secret-memory.js';
import { PartPool } from '../../src/proxy/part-pool.js';
import { bodyFilesOf, decodeCallValue, decodeValueHeader, encodeCallValue, encodeJsonValue, mayNameBodyFiles } from '../../src/record/call-codec.js';
import type { CallRecord } from '../../src/call.js';

function prefixed(body: Buffer): Buffer {
  const p = Buffer.alloc(5);
  p.writeUInt32BE(body.length, 1);
  return Buffer.concat([p, body]);
}

function spooling(spool: Partial<SpoolOptions> = {}, reserve?: (n: number) => boolean) {
  const parts: Buffer[] = [];
  const events: string[] = [];
  const asm = new MessageAssembler(
    {
      message: (body, length) => events.push(body === null ? `not-kept:${length}` : `whole:${body.length}`),
      part: (data) => parts.push(data),
      spooled: (length) => events.push(`spooled:${length}`),
      abort: () => events.push('abort'),
    },
    true,
    1 << 24,
    reserve,
    { spoolFrom: 1000, partBytes: 256, ...spool },
  );
  return { asm, parts, events };
}

test('a body from spoolFrom on comes in parts of partBytes, whatever the input split; smaller ones whole', () => {
  const big = Buffer.from(Array.from({ length: 1500 }, (_, i) => i % 251));
  const input = Buffer.concat([prefixed(Buffer.from('small')), prefixed(big)]);
  for (const step of [1, 7, 300, input.length]) {
    const { asm, parts, events } = spooling();
    for (let i = 0; i < input.length; i += step) asm.push(input.subarray(i, i + step));
    assert.deepEqual(events, ['whole:5', 'spooled:1500']);
    assert.deepEqual(parts.map((p) => p.length), [256, 256, 256, 256, 256, 220]);
    assert.ok(Buffer.concat(parts).equals(big), `split ${step}`);
    for (const p of parts) assert.notEqual(p.buffer, input.buffer, 'parts are copies, never views of the input');
    assert.equal(asm.spoolOpen, false);
    assert.equal(asm.fillingBytes, 0);
  }
});

test('a refused piece ends the spooling: abort, then the message ends not kept; a cut stream shows as spoolOpen', () => {
  let allowed = 600;
  const { asm, parts, events } = spooling({}, (n) => (allowed -= n) >= 0);
  asm.push(prefixed(Buffer.alloc(2000, 1)));
  assert.deepEqual(events, ['abort', 'not-kept:2000']);
  assert.equal(parts.length, 2);

  const cut = spooling();
  cut.asm.push(prefixed(Buffer.alloc(2000, 1)).subarray(0, 700));
  assert.equal(cut.asm.spoolOpen, true);
  assert.equal(cut.asm.fillingBytes, 695 - 512);
  assert.equal(cut.asm.partial, true);
});

test('parts cross to the other thread moved (detached here), also a shorter last part in a full-size buffer', () => {
  const pool = new PartPool(1024, 4);
  t_after(() => pool.close());
  const whole = pool.take(1024).fill(3);
  const last = pool.take(100).fill(4);
  const small = Buffer.from('tiny part');
  const batch = packBatch([{ part: { id: 7, data: whole } }, { part: { id: 7, data: last } }, { part: { id: 8, data: small } }, { abort: 9 }], { move: true });
  const cloned = structuredClone(batch, { transfer: batch.buffers });
  assert.equal(whole.buffer.byteLength, 0, 'moved away: detached on this side');
  const out = unpackBatch(cloned);
  assert.deepEqual(out.map((e) => ('part' in e ? [e.part.id, e.part.data.length, e.part.data[0]] : e)), [[7, 1024, 3], [7, 100, 4], [8, 9, 0x74], { abort: 9 }]);
  pool.give((out[1] as { part: { data: Buffer } }).part.data.buffer as ArrayBuffer);
  assert.equal(pool.freeBuffers, 1, 'a part buffer comes back for use again');
});

const cleanups: (() => void)[] = [];
function t_after(fn: () => void): void {
  cleanups.push(fn);
}
test.after(() => {
  for (const fn of cleanups) fn();
});

test('BodySpool appends parts to one file per body; finish checks the length; abort removes the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'critap-spool-'));
  t_after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = new BodySpool(dir);
  spool.append(1, Buffer.from('hello '));
  spool.append(2, Buffer.from('gone'));
  spool.append(1, Buffer.from('world'));
  const done = spool.finish(1, 11);
  assert.ok('file' in done);
  assert.equal(readBodyFile(dir, done.file, 11).toString(), 'hello world');
  assert.throws(() => readBodyFile(dir, done.file, 12), (e: unknown) => e instanceof BodyFileError && /holds 11 bytes, not the 12/.test(e.message));
  spool.abort(2);
  assert.equal(spool.openBodies, 0);
  spool.append(3, Buffer.from('short'));
  const short = spool.finish(3, 10);
  assert.ok('error' in short && /5 of its 10 bytes/.test(short.error));
  assert.deepEqual(readdirSync(join(dir, BODIES_DIR)), [done.file], 'only the finished body is left');
  assert.throws(() => readBodyFile(dir, '../../etc/passwd', 1), /does not write/);
});

test('scrubBodyFile overwrites remembered values in place, also across a window edge (1 MiB)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'critap-scrub-'));
  t_after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, BODIES_DIR));
  const secret = Buffer.from('s3cr3t-value-Xq9');
  const secrets = new SecretMemory();
  secrets.remember(secret);
  const body = Buffer.alloc(3 * 1024 * 1024, 0x2e);
  const at = [10, 1024 * 1024 - 7, 2 * 1024 * 1024 - secret.length, body.length - secret.length];
  for (const i of at) secret.copy(body, i);
  const file = 'a1b2c3d4e5f6-1.body';
  writeFileSync(join(dir, BODIES_DIR, file), body);
  assert.equal(scrubBodyFile(dir, file, secrets), true);
  const after = readFileSync(join(dir, BODIES_DIR, file));
  assert.equal(after.length, body.length, 'lengths kept');
  assert.equal(after.indexOf(secret), -1, 'no copy left');
  for (const i of at) assert.equal(after.subarray(i, i + secret.length).toString(), '*'.repeat(secret.length));
  assert.equal(after.subarray(0, 10).toString(), '.'.repeat(10), 'other bytes untouched');
  assert.equal(scrubBodyFile(dir, file, secrets), false);
});

test('a value naming a body file decodes through the file reader, in value format 3 (flagged) and in the JSON formats (2; 1 when none does)', () => {
  const call: CallRecord = {
    method: '/runtime.v1.RuntimeService/ExecSync',
    startNs: 1n,
    durationNs: 2,
    requests: [{ offsetNs: 0, data: Buffer.from('req') }],
    responses: [{ offsetNs: 5, data: Buffer.alloc(0), spooled: { id: 3, length: 4, file: 'f.body' } }],
    status: { code: 0, message: '' },
    end: 'trailers',
    requestMetadata: [],
    responseHeaders: [],
    responseTrailers: [],
    requestBytes: 8,
    responseBytes: 9,
  };
  const inlineCall = { ...call, responses: [{ offsetNs: 5, data: Buffer.from('body') }] };
  for (const [encode, named, inlineFormat] of [[encodeCallValue, 3, 3], [encodeJsonValue, 2, 1]] as const) {
    const value = encode(call, {}, undefined);
    assert.equal(value[0], named);
    assert.ok(mayNameBodyFiles(value));
    assert.deepEqual(bodyFilesOf(decodeValueHeader(value).header), [{ file: 'f.body', length: 4 }]);
    const read: string[] = [];
    const back = decodeCallValue('k', value, (file, length) => {
      read.push(`${file}:${length}`);
      return Buffer.from('body');
    });
    assert.deepEqual(read, ['f.body:4']);
    assert.equal(back.responses[0]!.data.toString(), 'body');
    assert.equal(back.requests[0]!.data.toString(), 'req');
    assert.throws(() => decodeCallValue('k', value), /no reader of body files/);
    const inline = encode(inlineCall, {}, undefined);
    assert.equal(inline[0], inlineFormat);
    assert.ok(!mayNameBodyFiles(inline), 'a value with every body inline says so without being parsed');
    assert.deepEqual(bodyFilesOf(decodeValueHeader(inline).header), []);
  }
});
