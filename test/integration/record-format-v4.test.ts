/**
 * Recording format version 4 (value format 4, large bodies packed with brotli): a relist-sized
 * answer is stored packed, and every reader — the recording reader, export, import, replay —
 * gives back the bytes that were recorded. The same calls stored as an older critap stored them
 * (JSON header, value format 1) read back the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { createRecording } from '../../src/record/writer.js';
import { CALL_END, CALL_PREFIX } from '../../src/record/keys.js';
import { FORMAT_VERSION, MANIFEST_FILE } from '../../src/record/manifest.js';
import { replay } from '../../src/replay/index.js';
import { encodeMessage } from '../../src/cri/codec.js';
import { rawClient, unaryCall } from '../support/fake-upstream.js';
import { storeValuesAsJson } from '../support/json-values.js';
import { makeCall, versionCall } from '../unit/record-fixtures.js';
import { readAllCalls } from '../support/read-recording.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));
const critap = (...args: string[]) => promisify(execFile)(process.execPath, [BIN, ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
const LIST = '/runtime.v1.RuntimeService/ListContainers';
const hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** A kubelet relist's answer: 300 containers with random-looking ids (about 150 KB). */
function relistCall() {
  const containers = Array.from({ length: 300 }, (_, i) => ({
    id: hex(`c${i}`),
    pod_sandbox_id: hex(`p${i >> 2}`),
    metadata: { name: `app-${i % 4}`, attempt: 0 },
    image: { image: `sha256:${hex(`i${i % 5}`)}` },
    image_ref: `sha256:${hex(`i${i % 5}`)}`,
    state: 'CONTAINER_RUNNING',
    created_at: String(1_790_000_000_000_000_000n + BigInt(i) * 7_919_000n),
    labels: { 'io.kubernetes.pod.name': `web-${i >> 2}`, 'io.kubernetes.pod.namespace': 'team-a', 'io.kubernetes.pod.uid': hex(`u${i >> 2}`).slice(0, 36) },
    annotations: { 'io.kubernetes.container.restartCount': '0', 'io.kubernetes.container.terminationMessagePath': '/dev/termination-log' },
  }));
  return makeCall({ method: LIST, request: { filter: {} }, responses: [{ containers }] });
}

async function valueFormats(dir: string): Promise<number[]> {
  const db = new Level<string, Buffer>(join(dir, 'db'), { valueEncoding: 'buffer' });
  await db.open();
  const formats: number[] = [];
  try {
    for await (const v of db.values({ gte: CALL_PREFIX, lt: CALL_END })) formats.push(v[0]!);
  } finally {
    await db.close();
  }
  return formats;
}

test('a relist-sized answer is stored packed and every reader gives back the recorded bytes', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-v4-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const relist = relistCall();
  const answer = relist.responses[0]!.data;
  assert.ok(answer.length > 100_000, `the answer is ${answer.length} bytes`);
  const older = join(root, 'older');
  const now = join(root, 'now');
  for (const dir of [older, now]) {
    const w = await createRecording(dir);
    await w.append(versionCall(), relist);
    await w.close();
  }
  assert.equal(await storeValuesAsJson(older), 2);
  assert.deepEqual(await valueFormats(older), [1, 1]);
  assert.deepEqual(await valueFormats(now), [3, 4], 'the small call stays in format 3, the relist is packed');
  assert.equal(JSON.parse(await readFile(join(now, MANIFEST_FILE), 'utf8')).version, FORMAT_VERSION);
  assert.ok(FORMAT_VERSION >= 4);

  const fromNow = await readAllCalls(now);
  assert.ok(fromNow[1]!.responses[0]!.data.equals(answer), 'the reader unpacks the recorded bytes');
  assert.deepEqual(fromNow, await readAllCalls(older));

  // export writes the bodies whole; import packs them again.
  const exported = (await critap('export', now)).stdout;
  assert.equal((await critap('export', older)).stdout, exported);
  const file = join(root, 'calls.jsonl');
  await critap('export', now, '--out', file);
  const imported = join(root, 'imported');
  await critap('import', file, imported);
  assert.deepEqual(await valueFormats(imported), [3, 4]);
  assert.equal((await critap('export', imported)).stdout, exported);

  const rt = await replay({ recording: now });
  const client = rawClient(rt.endpoint);
  try {
    const r = await unaryCall(client, LIST, encodeMessage('runtime.v1.ListContainersRequest', { filter: {} }));
    assert.ok(r.response?.equals(answer), 'replay serves the recorded answer, byte for byte');
  } finally {
    client.close();
    await rt.close();
  }
});
