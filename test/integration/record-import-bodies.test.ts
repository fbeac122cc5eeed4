/**
 * `critap import` stores large bodies as the live recorder does: a body of 1 MiB or more goes to
 * a file in bodies/, no LevelDB value holds one, and export → import → export gives the same
 * bytes back (the recording reads back as the recorded one does).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openRecorder } from '../../src/record/recorder.js';
import { openRecording } from '../../src/record/reader.js';
import { Store } from '../../src/record/store.js';
import { FORMAT_VERSION, MANIFEST_FILE } from '../../src/record/manifest.js';
import { BODIES_DIR } from '../../src/record/body-store.js';
import { makeCall, SECRET_ENV, T0, V1, versionCall } from '../unit/record-fixtures.js';
import { createRecording } from '../../src/record/writer.js';
import { execAnswer } from '../support/exec-answer.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));
const MiB = 1024 * 1024;

const critap = (...args: string[]) => promisify(execFile)(process.execPath, [BIN, ...args], { maxBuffer: 256 * MiB });

/** A live recording: a large ExecSync answer handed to the recorder in parts (as the proxy does), and a small call. */
async function recordLive(dir: string): Promise<Buffer> {
  const rec = await openRecorder({ dir });
  rec.onCallEnd(versionCall(T0));
  const answer = execAnswer(randomBytes(3 * MiB));
  for (let i = 0; i < answer.length; i += 64 * 1024) rec.onBodyPart(1, Buffer.from(answer.subarray(i, i + 64 * 1024)));
  const exec = makeCall({ method: V1 + 'ExecSync', request: { containerId: 'c'.repeat(64), cmd: ['cat', '/big'] }, startNs: T0 + 1000n });
  exec.responses = [{ offsetNs: 7, data: Buffer.alloc(0), spooled: { id: 1, length: answer.length } }];
  rec.onCallEnd(exec);
  await rec.close();
  return answer;
}

async function largestValue(dir: string): Promise<number> {
  const store = await Store.open(dir, 'read');
  try {
    let max = 0;
    for await (const v of store.db.values()) max = Math.max(max, v.length);
    return max;
  } finally {
    await store.close();
  }
}

test('import keeps a body of 1 MiB or more in bodies/, as recording does, and export → import → export round-trips byte for byte', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-import-bodies-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const live = join(root, 'live');
  const answer = await recordLive(live);
  assert.equal((await readdir(join(live, BODIES_DIR))).length, 1, 'the live recorder kept the answer in a file');

  const first = join(root, 'first.jsonl');
  await critap('export', live, '--out', first);
  const imported = join(root, 'imported');
  const { stderr } = await critap('import', first, imported);
  assert.match(stderr, /imported 2 calls/);

  const files = await readdir(join(imported, BODIES_DIR));
  assert.equal(files.length, 1, 'the large answer is in one body file');
  assert.ok((await readFile(join(imported, BODIES_DIR, files[0]!))).equals(answer), 'the file holds the answer as it was');
  const max = await largestValue(imported);
  assert.ok(max < MiB, `no LevelDB value reaches 1 MiB (largest ${max} bytes)`);
  assert.equal(JSON.parse(await readFile(join(imported, MANIFEST_FILE), 'utf8')).version, FORMAT_VERSION);

  const second = join(root, 'second.jsonl');
  await critap('export', imported, '--out', second);
  assert.ok((await readFile(second)).equals(await readFile(first)), 'export → import → export gives the same bytes');

  // Read back like the live one, also with --salvage (which reads body files its own way).
  for (const salvage of [false, true]) {
    const r = await openRecording(imported, { salvage });
    const calls = [];
    for await (const c of r.calls()) calls.push(c);
    await r.close();
    assert.equal(calls.length, 2);
    assert.ok(calls[1]!.responses[0]!.data.equals(answer));
    assert.equal(calls[1]!.truncated, undefined);
  }

  // Importing the same file again finds every call already there, body files included: nothing added, no file left behind.
  const again = await critap('import', first, imported);
  assert.match(again.stderr, /imported 0 calls .*skipped 2 already in it/);
  assert.deepEqual(await readdir(join(imported, BODIES_DIR)), files);
});

test('a large call written without ids is redacted first, then its large body goes to a file without the secret', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-import-redact-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const call = makeCall({
    method: V1 + 'CreateContainer',
    request: {
      podSandboxId: 's'.repeat(64),
      config: { metadata: { name: 'app' }, envs: [{ key: 'DB_PASSWORD', value: Buffer.from(SECRET_ENV).toString('base64') }], annotations: { big: 'x'.repeat(2 * MiB) } },
    },
    responses: [{ containerId: 'c'.repeat(64) }],
    startNs: T0,
  });
  assert.ok(call.requests[0]!.data.includes(SECRET_ENV));
  const w = await createRecording(dir);
  await w.append(call);
  await w.close();
  const files = await readdir(join(dir, BODIES_DIR));
  assert.equal(files.length, 1, 'the redacted request, still over 1 MiB, is in a body file');
  const stored = await readFile(join(dir, BODIES_DIR, files[0]!));
  assert.ok(stored.length > 2 * MiB);
  assert.equal(stored.indexOf(SECRET_ENV), -1, 'the env value is not in the file');
  const r = await openRecording(dir);
  const calls = [];
  for await (const c of r.calls()) calls.push(c);
  await r.close();
  assert.ok(calls[0]!.requests[0]!.data.equals(stored));
  assert.ok(calls[0]!.redacted?.includes('request'));
  assert.equal(calls[0]!.ids.containerId, 'c'.repeat(64));
});
