import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { RecordingError } from '../../src/record/errors.js';
import { MANIFEST_FILE } from '../../src/record/manifest.js';
import { openRecording } from '../../src/record/reader.js';
import { createRecording } from '../../src/record/writer.js';
import { callKey } from '../../src/record/keys.js';
import { T0, versionCall } from './record-fixtures.js';

async function tempRoot(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'critap-rec-err-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

async function goodRecording(dir: string): Promise<void> {
  const w = await createRecording(dir);
  await w.append(versionCall(T0), versionCall(T0 + 1n));
  await w.close();
}

/**
 * Hash of every file name and content: opening for reading must not change any of it. LevelDB's
 * own diagnostic log (LOG, rotated to LOG.old on every open attempt) and LOCK are left out:
 * they hold no data, and LevelDB touches them before it reads anything.
 */
async function fingerprint(dir: string): Promise<string> {
  const h = createHash('sha256');
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries.filter((x) => !['LOG', 'LOG.old', 'LOCK'].includes(x.name)).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(e.parentPath, e.name);
    h.update(p);
    if (e.isFile()) h.update(await readFile(p));
  }
  return h.digest('hex');
}

async function readEverything(dir: string): Promise<number> {
  const r = await openRecording(dir);
  try {
    let n = 0;
    for await (const _ of r.calls()) n++;
    await r.info();
    return n;
  } finally {
    await r.close();
  }
}

async function expectError(dir: string, pattern: RegExp, unchanged = true): Promise<void> {
  const before = await fingerprint(dir);
  await assert.rejects(readEverything(dir), (e: unknown) => {
    assert.ok(e instanceof RecordingError, `expected RecordingError, got ${String(e)}`);
    assert.ok(e.message.startsWith('critap: '), e.message);
    assert.ok(e.message.includes(dir), `"${e.message}" names ${dir}`);
    assert.match(e.message, pattern);
    return true;
  });
  if (unchanged) assert.equal(await fingerprint(dir), before, 'the folder is left exactly as it was');
}

test('a missing folder and a folder that is not a recording', async (t) => {
  const root = await tempRoot(t);
  await expectError(join(root, 'nothing-here'), /does not exist/);
  const plain = join(root, 'plain');
  await mkdir(plain);
  await writeFile(join(plain, 'notes.txt'), 'hello');
  await expectError(plain, /not a critap recording/);
  await writeFile(join(plain, MANIFEST_FILE), JSON.stringify({ format: 'something-else', version: 1 }));
  await expectError(plain, /not a critap recording/);
  // createRecording will not scatter files into someone else's folder either.
  await rm(join(plain, MANIFEST_FILE));
  await assert.rejects(createRecording(plain), (e: unknown) => e instanceof RecordingError && /is not a critap recording/.test(e.message));
  assert.deepEqual(await readdir(plain), ['notes.txt']);
});

test('a recording written by a newer format version says to upgrade', async (t) => {
  const dir = join(await tempRoot(t), 'rec');
  await goodRecording(dir);
  await writeFile(join(dir, MANIFEST_FILE), JSON.stringify({ format: 'critap-recording', version: 7, createdBy: 'critap 9.0.0', createdAt: '2030-01-01T00:00:00Z' }));
  await expectError(dir, /format version 7 \(written by critap 9\.0\.0\).*upgrade critap/);
  await assert.rejects(createRecording(dir), /format version 7/);
});

test('damage: broken manifest JSON, missing db, corrupt db, undecodable entry', async (t) => {
  const root = await tempRoot(t);
  const broken = join(root, 'broken-manifest');
  await goodRecording(broken);
  await writeFile(join(broken, MANIFEST_FILE), '{"format": "critap-recording", "vers');
  await expectError(broken, /is damaged: critap-recording\.json is not valid JSON/);

  const noDb = join(root, 'no-db');
  await goodRecording(noDb);
  await rm(join(noDb, 'db'), { recursive: true });
  await expectError(noDb, /is damaged: db\/ is missing/);
  await assert.rejects(readdir(join(noDb, 'db')), /ENOENT/, 'opening did not create an empty db');

  const corrupt = join(root, 'corrupt-db');
  await goodRecording(corrupt);
  await writeFile(join(corrupt, 'db', 'CURRENT'), 'MANIFEST-999999\n');
  await expectError(corrupt, /is damaged: its LevelDB \(db\/\) does not open/);

  const badEntry = join(root, 'bad-entry');
  await goodRecording(badEntry);
  const db = new Level<string, Buffer>(join(badEntry, 'db'), { valueEncoding: 'buffer' });
  await db.put(callKey(T0 + 5n, 99), Buffer.from('this is not a stored call'));
  await db.close();
  await expectError(badEntry, /is damaged: entry c\d{20}\.\d{12} does not decode/, false);
});

test('a healthy recording still reads after all that (the checks are not too eager)', async (t) => {
  const dir = join(await tempRoot(t), 'ok');
  await goodRecording(dir);
  assert.equal(await readEverything(dir), 2);
});
