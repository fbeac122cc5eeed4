/**
 * A recording of format version 1 (what critap wrote before body files: every body inside its
 * LevelDB value, value format 1) still reads with every command, replays, and is upgraded to
 * version 2 when a recorder appends to it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRecording } from '../../src/record/writer.js';
import { FORMAT_VERSION } from '../../src/record/manifest.js';
import { storeValuesAsJson } from '../support/json-values.js';
import { openRecording } from '../../src/record/reader.js';
import { replay } from '../../src/replay/index.js';
import { encodeMessage } from '../../src/cri/codec.js';
import { rawClient, unaryCall } from '../support/fake-upstream.js';
import { createContainer, runPodSandbox, versionCall } from '../unit/record-fixtures.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));
const T = 1_790_000_000_000_000_000n;

/** Makes a version-1 recording: calls with bodies inline (value format 1), manifest saying version 1. */
async function versionOneRecording(dir: string): Promise<void> {
  const w = await createRecording(dir);
  await w.append(versionCall(T), runPodSandbox('s'.repeat(64), T + 1_000_000n), createContainer('s'.repeat(64), 'c'.repeat(64), T + 2_000_000n));
  await w.close();
  assert.equal(await storeValuesAsJson(dir), 3);
  const file = join(dir, 'critap-recording.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...m, version: 1, createdBy: 'critap 0.9.0' }, null, 2) + '\n');
}

test('a version-1 recording reads with ls, show, stats and export, and replays', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-v1-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  await versionOneRecording(dir);

  const run = (...args: string[]) => execFileSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.match(run('ls', root), /rec/);
  assert.match(run('show', dir), /Version/);
  assert.match(run('show', dir, '--container', 'c'.repeat(12)), /CreateContainer/);
  assert.match(run('stats', dir), /3 calls stored/);
  const exported = run('export', dir).trim().split('\n');
  assert.equal(exported.length, 3);

  const rt = await replay({ recording: dir });
  const client = rawClient(rt.endpoint);
  try {
    const r = await unaryCall(client, '/runtime.v1.RuntimeService/Version', encodeMessage('runtime.v1.VersionRequest', { version: '0.1.0' }));
    assert.ok(r.response?.equals(versionCall(T).responses[0]!.data), 'the recorded answer, byte for byte');
  } finally {
    client.close();
    await rt.close();
  }
  const m = JSON.parse(readFileSync(join(dir, 'critap-recording.json'), 'utf8')) as { version: number };
  assert.equal(m.version, 1, 'reading never changes the manifest');
});

test('appending to a version-1 recording raises its manifest to the current version, keeping who made it', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-v1-up-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  await versionOneRecording(dir);
  const before = JSON.parse(readFileSync(join(dir, 'critap-recording.json'), 'utf8')) as Record<string, unknown>;
  const w = await createRecording(dir);
  await w.append(versionCall(T + 5_000_000n));
  await w.close();
  const after = JSON.parse(readFileSync(join(dir, 'critap-recording.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(after.version, FORMAT_VERSION);
  assert.equal(after.createdBy, 'critap 0.9.0');
  assert.equal(after.createdAt, before.createdAt);
  assert.match(String(after.upgradedBy), /^critap /);
  const rec = await openRecording(dir);
  let n = 0;
  for await (const _ of rec.calls()) n++;
  await rec.close();
  assert.equal(n, 4);
});
