import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecording } from '../../src/record/writer.js';
import { openRecording } from '../../src/record/reader.js';
import { startContainer, T0, versionCall } from './record-fixtures.js';

async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      if ((await stat(p)).isDirectory()) await walk(p);
      else out[p.slice(dir.length)] = createHash('sha256').update(await readFile(p)).digest('hex');
    }
  };
  await walk(dir);
  return out;
}

async function snapshots(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('critap-read-'));
}

test('reading a recording changes no file in it and leaves no snapshot behind', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-snap-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const w = await createRecording(dir);
  await w.append(versionCall(T0), startContainer('ctr-1', T0 + 1n));
  await w.close();
  const before = await fingerprint(dir);
  // Snapshots go to os.tmpdir(); a private one keeps other tests' snapshots out of the count.
  const privateTmp = join(root, 'tmp');
  await mkdir(privateTmp);
  const savedTmp = process.env['TMPDIR'];
  process.env['TMPDIR'] = privateTmp;
  t.after(() => {
    if (savedTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = savedTmp;
  });
  for (let i = 0; i < 2; i++) {
    const r = await openRecording(dir);
    const calls = [];
    for await (const c of r.calls()) calls.push(c);
    assert.equal(calls.length, 2);
    assert.equal((await snapshots(privateTmp)).length, 1, 'the reader works on a snapshot');
    await r.close();
  }
  assert.deepEqual(await fingerprint(dir), before, 'same files, same bytes');
  assert.deepEqual(await snapshots(privateTmp), [], 'closing removes the snapshot');
});
