/**
 * Body files no call names (a crash between writing a body and storing its call) are removed
 * when the recording is next opened for writing, never when it is read, and never when the
 * recording may have lost calls whose bodies they could be.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { openRecorder } from '../../src/record/recorder.js';
import { createRecording } from '../../src/record/writer.js';
import { BODIES_DIR } from '../../src/record/body-store.js';
import { createLogger } from '../../src/log.js';
import { makeCall, T0, V1 } from '../unit/record-fixtures.js';
import { execAnswer } from '../support/exec-answer.js';
import { readAllCalls } from '../support/read-recording.js';

const CHILD = fileURLToPath(new URL('./record-body-crash-child.js', import.meta.url));
const MiB = 1024 * 1024;
/** A name body-store.ts could have written, that no call of these recordings names. */
const ORPHAN = 'abcdefabcdef-99.body';

async function tempRoot(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'critap-orphans-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

const bodies = async (dir: string) => (await readdir(join(dir, BODIES_DIR))).sort();

function execCall(i: number) {
  const call = makeCall({ method: V1 + 'ExecSync', request: { containerId: 'c'.repeat(64), cmd: ['cat', `/${i}`] }, startNs: T0 + BigInt(i) * 1000n });
  call.responses = [{ offsetNs: 7, data: execAnswer(Buffer.alloc(MiB + i, 0x30 + i)) }];
  return call;
}

/** What a writer that did not close leaves behind (the next writer then looks for orphans). */
const leaveWriterPid = (dir: string) => writeFile(join(dir, 'writer.pid'), '999999999\n/usr/bin/node\n');

/**
 * Three calls with their answers in body files, plus an orphan and a file of someone else's,
 * as a writer that was killed would leave them (unless `cleanStop`).
 */
async function recordingWithOrphan(dir: string, cleanStop = false): Promise<string[]> {
  const w = await createRecording(dir);
  for (let i = 0; i < 3; i++) await w.append(execCall(i));
  await w.close();
  const named = await bodies(dir);
  assert.equal(named.length, 3);
  await writeFile(join(dir, BODIES_DIR, ORPHAN), Buffer.alloc(3000));
  await writeFile(join(dir, BODIES_DIR, 'notes.txt'), 'not ours');
  if (!cleanStop) await leaveWriterPid(dir);
  return named;
}

/** Opens the recording for writing and closes it again; returns what it logged. */
async function openForWriting(dir: string): Promise<string[]> {
  const lines: string[] = [];
  const rec = await openRecorder({ dir, logger: createLogger({ level: 'debug', json: true, write: (l) => lines.push(l) }) });
  await rec.close();
  return lines;
}

test('a recorder killed mid-body leaves a file that the next recorder removes, saying how many bytes it reclaimed', async (t) => {
  const dir = join(await tempRoot(t), 'rec');
  const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
  const handed = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = /^mid-body (\d+)$/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error('the child exited before it was mid-body')));
  });
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  const before = await bodies(dir);
  assert.equal(before.length, 2, 'the stored answer, and the half-written body of the call that never ended');
  const sizes = await Promise.all(before.map(async (f) => (await stat(join(dir, BODIES_DIR, f))).size));
  assert.ok(sizes.includes(handed), `one file holds the ${handed} bytes handed over before the kill (${sizes})`);

  // Reading changes nothing.
  const [stored] = await readAllCalls(dir);
  assert.equal(await bodies(dir).then((b) => b.length), 2);

  const lines = await openForWriting(dir);
  const after = await bodies(dir);
  assert.equal(after.length, 1, 'only the file a call names is left');
  assert.ok((await readFile(join(dir, BODIES_DIR, after[0]!))).equals(stored!.responses[0]!.data));
  const log = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => /body files no call names/.test(String(l['msg'])));
  assert.ok(log, `a log line says what was removed: ${lines.join('\n')}`);
  assert.equal(log['files'], 1);
  assert.equal(log['bytesReclaimed'], handed);

  const calls = await readAllCalls(dir);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.responses[0]!.data.length, 2 * MiB + 5, 'the stored call still reads whole');
});

test('only orphans go: files calls name, and files critap does not write, stay; a read-only open removes nothing', async (t) => {
  const dir = join(await tempRoot(t), 'rec');
  const named = await recordingWithOrphan(dir);
  await readAllCalls(dir);
  assert.ok((await bodies(dir)).includes(ORPHAN), 'reading leaves the orphan');
  const lines = await openForWriting(dir);
  assert.deepEqual(await bodies(dir), [...named, 'notes.txt'].sort());
  assert.match(lines.join('\n'), /"bytesReclaimed":3000/);
  assert.equal((await readAllCalls(dir)).length, 3);
});

test('after a clean stop the calls are not read for orphans (a clean stop leaves none)', async (t) => {
  const dir = join(await tempRoot(t), 'rec');
  const named = await recordingWithOrphan(dir, true);
  const lines = await openForWriting(dir);
  assert.deepEqual(await bodies(dir), [...named, ORPHAN, 'notes.txt'].sort());
  assert.doesNotMatch(lines.join('\n'), /body files/);
  // The writer that just closed cleanly left no pid file behind.
  await assert.rejects(stat(join(dir, 'writer.pid')), { code: 'ENOENT' });
});

test('a call whose body file is already missing does not stop the others from being kept', async (t) => {
  const dir = join(await tempRoot(t), 'rec');
  const named = await recordingWithOrphan(dir);
  await unlink(join(dir, BODIES_DIR, named[0]!));
  await openForWriting(dir);
  assert.deepEqual(await bodies(dir), [...named.slice(1), 'notes.txt'].sort());
});

test('a damaged recording keeps every body file: not opened for writing, or a call that does not decode, or calls lost', async (t) => {
  const root = await tempRoot(t);

  // LevelDB's log damaged: the recording is not opened for writing at all.
  const flipped = join(root, 'flipped');
  await recordingWithOrphan(flipped);
  const log = (await readdir(join(flipped, 'db'))).find((n) => n.endsWith('.log'))!;
  const bytes = await readFile(join(flipped, 'db', log));
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  await writeFile(join(flipped, 'db', log), bytes);
  const filesBefore = await bodies(flipped);
  await assert.rejects(openForWriting(flipped), /not opened for writing/);
  assert.deepEqual(await bodies(flipped), filesBefore);

  // A call value that does not decode might name any file: nothing is removed, and the log says why.
  const garbled = join(root, 'garbled');
  await recordingWithOrphan(garbled);
  let db = new Level<string, Buffer>(join(garbled, 'db'), { valueEncoding: 'buffer' });
  const [firstKey] = await db.keys({ gte: 'c', lt: 'd', limit: 1 }).all();
  await db.put(firstKey!, Buffer.from('not a call'));
  await db.close();
  const garbledBefore = await bodies(garbled);
  const lines = await openForWriting(garbled);
  assert.deepEqual(await bodies(garbled), garbledBefore);
  assert.match(lines.join('\n'), /left body files as they are.*does not decode/);

  // Fewer calls than the counters say: the lost call's file (and the orphan) stay.
  const lost = join(root, 'lost');
  await recordingWithOrphan(lost);
  db = new Level<string, Buffer>(join(lost, 'db'), { valueEncoding: 'buffer' });
  const [lostKey] = await db.keys({ gte: 'c', lt: 'd', limit: 1 }).all();
  await db.del(lostKey!);
  await db.close();
  const lostBefore = await bodies(lost);
  const lostLines = await openForWriting(lost);
  assert.deepEqual(await bodies(lost), lostBefore);
  assert.match(lostLines.join('\n'), /2 calls found where the counters say 3/);
});
