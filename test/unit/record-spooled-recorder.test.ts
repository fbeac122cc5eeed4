/**
 * The recorder with spooled bodies (parts first, then the call naming them): stored in a body
 * file, scrubbed there of values redacted earlier, or read back for redaction and then kept in
 * LevelDB; parts of a call that is dropped or never ends leave no file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRecorder } from '../../src/record/recorder.js';
import { BODIES_DIR } from '../../src/record/body-store.js';
import type { CallRecord } from '../../src/call.js';
import { createContainer, makeCall, SECRET_ENV, T0, V1 } from './record-fixtures.js';
import { execAnswer } from '../support/exec-answer.js';
import { readAllCalls } from '../support/read-recording.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'critap-spooled-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'rec');
}

/** Hands `body` to the recorder in parts of `part` bytes, then returns the call's message naming it. */
function spool(rec: { onBodyPart(id: number, p: Buffer): void }, id: number, body: Buffer, part = 1000): CallRecord['responses'][number] {
  for (let i = 0; i < body.length; i += part) rec.onBodyPart(id, Buffer.from(body.subarray(i, i + part)));
  return { offsetNs: 7, data: Buffer.alloc(0), spooled: { id, length: body.length } };
}


test('a spooled ExecSync answer is stored in a body file and scrubbed there of a value redacted earlier', async (t) => {
  const dir = await tempDir(t);
  const released: number[] = [];
  const rec = await openRecorder({ dir, release: (n) => released.push(n) });
  // CreateContainer first: its env value is redacted, and remembered.
  rec.onCallEnd(createContainer('s'.repeat(64), 'c'.repeat(64), T0));
  await rec.flush();
  const stdout = Buffer.alloc(300_000, 0x2e);
  Buffer.from(SECRET_ENV).copy(stdout, 150_000 - 3); // across a part edge
  const answer = execAnswer(stdout);
  const exec = makeCall({ method: V1 + 'ExecSync', request: { containerId: 'c'.repeat(64), cmd: ['env'] }, startNs: T0 + 1000n });
  exec.responses = [spool(rec, 1, answer)];
  rec.onCallEnd(exec);
  await rec.close();
  assert.equal(released.reduce((a, b) => a + b, 0) >= answer.length, true, 'every part given back to the budget');

  assert.equal((await readdir(join(dir, BODIES_DIR))).length, 1);
  const calls = await readAllCalls(dir);
  const stored = calls.find((c) => c.method.endsWith('/ExecSync'))!;
  const body = stored.responses[0]!.data;
  assert.equal(body.length, answer.length);
  assert.equal(body.indexOf(SECRET_ENV), -1, 'the value is not in the stored body');
  assert.ok(body.includes('*'.repeat(SECRET_ENV.length)));
  assert.ok(stored.redacted?.includes('response:redacted-value-repeated'));
});

test('a spooled body redaction must read (CreateContainer) is read back, redacted and kept in LevelDB; its file goes', async (t) => {
  const dir = await tempDir(t);
  const rec = await openRecorder({ dir });
  const call = createContainer('s'.repeat(64), 'c'.repeat(64), T0);
  const request = call.requests[0]!.data;
  call.requests = [spool(rec, 5, request, 10)];
  rec.onCallEnd(call);
  await rec.close();
  assert.deepEqual(await readdir(join(dir, BODIES_DIR)), []);
  const [stored] = await readAllCalls(dir);
  assert.equal(stored!.requests[0]!.data.indexOf(SECRET_ENV), -1);
  assert.equal(stored!.ids.containerId, 'c'.repeat(64), 'ids still found');
  assert.ok(stored!.redacted?.length);
});

test('parts of a body whose call is not recorded, or never ends, leave no file', async (t) => {
  const dir = await tempDir(t);
  const rec = await openRecorder({ dir, exclude: ['ExecSync'] });
  const exec = makeCall({ method: V1 + 'ExecSync', request: { containerId: 'c1', cmd: ['ls'] }, startNs: T0 });
  exec.responses = [spool(rec, 1, execAnswer(Buffer.alloc(5000, 1)))];
  rec.onCallEnd(exec);
  spool(rec, 2, Buffer.alloc(3000, 2)); // its call never reaches the recorder
  spool(rec, 3, Buffer.alloc(3000, 3));
  rec.onBodyAbort(3);
  await rec.close();
  assert.deepEqual(await readdir(join(dir, BODIES_DIR)), []);
  assert.equal((await readAllCalls(dir)).length, 0);
});
