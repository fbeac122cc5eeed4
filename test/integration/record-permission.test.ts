import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callToJsonl } from '../../src/record/jsonl.js';
import { createRecording } from '../../src/record/writer.js';
import { openRecording } from '../../src/record/reader.js';
import { T0, versionCall } from '../unit/record-fixtures.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));
/** nobody: root reads and writes everything, so only another user meets a permission problem. */
const NOBODY = 65534;

function critapAs(uid: number, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { uid, gid: uid }, (err, _stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stderr });
    });
  });
}

test('a folder the user may not write or read is a permission problem, never "damaged"', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to run critap as another user');
  const root = await mkdtemp(join(tmpdir(), 'critap-perm-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await chmod(root, 0o755);
  const dir = join(root, 'rec');
  const w = await createRecording(dir);
  await w.append(versionCall(T0));
  await w.close();
  const jsonl = join(root, 'calls.jsonl');
  await writeFile(join(root, 'calls.jsonl'), callToJsonl({ ...versionCall(T0 + 1n), key: '', ids: {} }) + '\n', { mode: 0o644 });

  const write = await critapAs(NOBODY, 'import', jsonl, dir);
  assert.equal(write.code, 1, write.stderr);
  assert.match(write.stderr, new RegExp(`critap import: cannot open recording ${dir}: permission denied .*not damaged`));
  assert.doesNotMatch(write.stderr, /is damaged/);

  await chmod(join(dir, 'db'), 0o700);
  const read = await critapAs(NOBODY, 'stats', dir);
  assert.equal(read.code, 1, read.stderr);
  assert.match(read.stderr, /permission denied .*not damaged/);
  assert.doesNotMatch(read.stderr, /is damaged/);

  // And it was not damaged: root still reads the one call.
  const r = await openRecording(dir);
  let n = 0;
  for await (const _ of r.calls()) n++;
  await r.close();
  assert.equal(n, 1);
});
