/**
 * Replay holds identical recorded bodies once (replay/shared-bodies.ts) and learns a repeated
 * list answer once (state/recorded.ts): what is shared, what is not, and that a repeat after a
 * different answer is still learned as the last one recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HASH_MIN_BYTES, SharedBodies } from '../../src/record/shared-bodies.js';
import { RecordedWorld, type TimelineInput } from '../../src/replay/state/recorded.js';

const body = (seed: number, length = 4096) => Buffer.alloc(length, seed);

test("equal bodies read apart are kept as one buffer; different ones are not", () => {
  const shared = new SharedBodies();
  const a = shared.share(body(1));
  const again = shared.share(body(1));
  const other = shared.share(body(2));
  assert.equal(again, a, 'the second copy is the first buffer');
  assert.notEqual(other, a);
  assert.deepEqual(other, body(2));
  assert.equal(shared.shared, 1);
  assert.equal(shared.sharedBytes, 4096);
});

test('a body seen long before (past the recent ones compared byte for byte) is found by its hash', () => {
  const shared = new SharedBodies();
  const first = shared.share(randomBytes(2048));
  const copy = Buffer.from(first);
  for (let i = 0; i < 20; i++) shared.share(randomBytes(2048));
  assert.equal(shared.share(copy), first);
  // Same length, one byte apart: not the same body.
  const near = Buffer.from(first);
  near[100]! ^= 1;
  assert.notEqual(shared.share(near), first);
});

test('a small body that is a view into a larger buffer is kept as its own copy, so it does not pin the rest', () => {
  const shared = new SharedBodies();
  const value = randomBytes(64 * 1024);
  const view = value.subarray(10, 12);
  const kept = shared.share(view);
  assert.deepEqual(kept, view);
  assert.ok(kept.buffer.byteLength < value.length, 'the 64 KiB value is not held by a 2-byte body');
  // Large views too: the first of its content kept is compact.
  const bigView = value.subarray(0, HASH_MIN_BYTES * 2);
  assert.ok(shared.share(bigView).buffer.byteLength < value.length);
  // A buffer of its own is kept as it is.
  const own = body(3, 100);
  assert.equal(shared.share(own), own);
});

test('shareMessages swaps each message body for the kept one, in place', () => {
  const shared = new SharedBodies();
  const messages = [{ offsetNs: 1, data: body(7) }, { offsetNs: 2, data: body(7), compressed: true }];
  shared.shareMessages(messages);
  assert.equal(messages[1]!.data, messages[0]!.data);
  assert.equal(messages[1]!.offsetNs, 2);
  assert.equal(messages[1]!.compressed, true);
});

type Json = Record<string, unknown>;
const C1 = 'c1'.repeat(32);
const input = (name: string, response: Json | undefined, request: Json = {}): TimelineInput => ({ name, request, response: () => response, code: 0, message: '' });

test('a list answer repeated after a different one is learned again: the last recorded item wins', () => {
  // Replay shares one decoded answer between calls recorded with the same bytes.
  const A = { containers: [{ id: C1, state: 'CONTAINER_RUNNING', metadata: { name: 'from-a' } }] };
  const B = { containers: [{ id: C1, state: 'CONTAINER_RUNNING', metadata: { name: 'from-b' } }] };
  const world = new RecordedWorld([input('ListContainers', A), input('ListContainers', A), input('ListContainers', B), input('ListContainers', A)]);
  assert.deepEqual(world.item('ListContainers', C1)?.metadata, { name: 'from-a' });
  assert.deepEqual(world.item('ListContainers', C1, 'running')?.metadata, { name: 'from-a' });
  const ab = new RecordedWorld([input('ListContainers', A), input('ListContainers', B), input('ListContainers', B)]);
  assert.deepEqual(ab.item('ListContainers', C1)?.metadata, { name: 'from-b' });
});

test('a repeated ListImages answer after an ImageStatus of one of its images is learned again', () => {
  const X = { images: [{ id: 'sha256:i', repoTags: ['127.0.0.1:5000/i:1'], size: '1' }] };
  const world = new RecordedWorld([
    input('ListImages', X),
    input('ImageStatus', { image: { id: 'sha256:i', repoTags: ['127.0.0.1:5000/i:1'], size: '2' } }, { image: { image: '127.0.0.1:5000/i:1' } }),
    input('ListImages', X),
  ]);
  assert.equal(world.item('ListImages', 'sha256:i')?.size, '1');
});

test('small equal bodies (known by their bytes, not a hash) are shared too', () => {
  const shared = new SharedBodies();
  const a = shared.share(Buffer.from('\x0a\x050.1.0'));
  assert.equal(shared.share(Buffer.from('\x0a\x050.1.0')), a);
  assert.notEqual(shared.share(Buffer.from('\x0a\x050.1.1')), a);
  assert.equal(shared.shared, 1);
});
