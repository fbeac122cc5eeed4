/**
 * Recording format version 3 (value format 3, a binary header): a recording whose values are as
 * the previous revision stored them (JSON header, value formats 1/2) and one written now hold the
 * same calls, and every reader — the recording reader, show, export, import's duplicate check,
 * replay — reads them the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { createRecording } from '../../src/record/writer.js';
import { CALL_END, CALL_PREFIX } from '../../src/record/keys.js';
import { replay } from '../../src/replay/index.js';
import { encodeMessage } from '../../src/cri/codec.js';
import { rawClient, unaryCall } from '../support/fake-upstream.js';
import { storeValuesAsJson } from '../support/json-values.js';
import { goldenCalls } from '../unit/record-golden-calls.js';
import { versionCall } from '../unit/record-fixtures.js';
import { readAllCalls } from '../support/read-recording.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));
const critap = (...args: string[]) => promisify(execFile)(process.execPath, [BIN, ...args], { timeout: 60_000 });

/** Each stored value's format byte and the total bytes of the values. */
async function valueFormats(dir: string): Promise<{ formats: Set<number>; bytes: number }> {
  const db = new Level<string, Buffer>(join(dir, 'db'), { valueEncoding: 'buffer' });
  await db.open();
  const formats = new Set<number>();
  let bytes = 0;
  try {
    for await (const v of db.values({ gte: CALL_PREFIX, lt: CALL_END })) {
      formats.add(v[0]!);
      bytes += v.length;
    }
  } finally {
    await db.close();
  }
  return { formats, bytes };
}

test('a recording of older values (JSON header) and one written now read back identically', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-v3-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const older = join(root, 'older');
  const now = join(root, 'now');
  for (const dir of [older, now]) {
    const w = await createRecording(dir);
    await w.append(...goldenCalls().map(([, call]) => call));
    await w.close();
  }
  const calls = goldenCalls().length;
  assert.equal(await storeValuesAsJson(older), calls);

  const o = await valueFormats(older);
  const n = await valueFormats(now);
  assert.deepEqual([...o.formats], [1]);
  assert.deepEqual([...n.formats], [3]);
  assert.ok(n.bytes < o.bytes, `format 3 stores fewer bytes (${n.bytes} vs ${o.bytes})`);

  const fromOlder = await readAllCalls(older);
  assert.equal(fromOlder.length, calls);
  assert.deepEqual(await readAllCalls(now), fromOlder);

  const exported = (await critap('export', older)).stdout;
  assert.equal((await critap('export', now)).stdout, exported, 'export gives the same bytes');
  assert.equal((await critap('show', now, '--container', 'c-1')).stdout, (await critap('show', older, '--container', 'c-1')).stdout, 'show through the id index');

  // Import's duplicate check compares what it would store now with a value of the older format.
  const file = join(root, 'calls.jsonl');
  await critap('export', now, '--out', file);
  const { stderr } = await critap('import', file, older);
  assert.match(stderr, new RegExp(`imported 0 calls .*skipped ${calls} already in it`));

  for (const dir of [older, now]) {
    const rt = await replay({ recording: dir });
    const client = rawClient(rt.endpoint);
    try {
      const r = await unaryCall(client, '/runtime.v1.RuntimeService/Version', encodeMessage('runtime.v1.VersionRequest', { version: '0.1.0' }));
      assert.ok(r.response?.equals(versionCall().responses[0]!.data), `${dir}: the recorded answer, byte for byte`);
    } finally {
      client.close();
      await rt.close();
    }
  }
});
