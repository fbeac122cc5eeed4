import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStoreForWriting } from '../../src/record/writer.js';
import { openRecording } from '../../src/record/reader.js';
import { prepareCall } from '../../src/record/prepare.js';
import { META_KEY, callKeyOfIndex } from '../../src/record/keys.js';
import { runPodSandbox, T0, versionCall } from './record-fixtures.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'critap-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'rec');
}

test('putCalls stores each call, its index entries and the counters in one batch', async (t) => {
  const dir = await tempDir(t);
  const store = await openStoreForWriting(dir);
  const calls = [prepareCall(versionCall(T0), undefined), prepareCall(runPodSandbox('sb-1', T0 + 1n, 'web'), undefined)];
  const keys = await store.putCalls(calls, 3);
  assert.equal(keys.length, 2);
  const entries = new Map<string, Buffer>();
  for await (const [k, v] of store.db.iterator()) entries.set(k, v);
  assert.deepEqual(entries.get(keys[0]!), calls[0]!.value);
  assert.deepEqual(entries.get(keys[1]!), calls[1]!.value);
  const index = [...entries.keys()].filter((k) => k.startsWith('x'));
  assert.ok(index.length > 0, 'the sandbox call is indexed');
  assert.ok(index.every((k) => callKeyOfIndex(k) === keys[1]), 'index entries name the sandbox call only');
  assert.ok(index.every((k) => entries.get(k)!.length === 0), 'index entries hold no value');
  const meta = JSON.parse(entries.get(META_KEY)!.toString('utf8'));
  assert.deepEqual({ calls: meta.calls, recorded: meta.recorded, dropped: meta.dropped, nextSeq: meta.nextSeq }, { calls: 2, recorded: 2, dropped: 3, nextSeq: 2 });
  assert.equal(meta.bytes, calls[0]!.value.length + calls[1]!.value.length);
  assert.deepEqual(store.counters, meta);
  await store.close();
});

test('a batch that cannot be written changes neither the counters nor the stored calls', async (t) => {
  const dir = await tempDir(t);
  const store = await openStoreForWriting(dir);
  await store.putCalls([prepareCall(versionCall(T0), undefined)]);
  const before = structuredClone(store.counters);
  // An entry LevelDB refuses (a value must be bytes or a string) fails the batch as it is built.
  const bad = { ...prepareCall(versionCall(T0 + 1n), undefined), value: undefined as unknown as Buffer };
  await assert.rejects(store.putCalls([prepareCall(versionCall(T0 + 2n), undefined), bad]));
  assert.deepEqual(store.counters, before);
  let calls = 0;
  for await (const k of store.db.keys()) if (k.startsWith('c')) calls++;
  assert.equal(calls, 1, 'nothing of the failed batch is stored');
  // The store still writes after the failed batch.
  await store.putCalls([prepareCall(versionCall(T0 + 3n), undefined)]);
  assert.equal(store.counters.calls, 2);
  await store.close();
});

test('calls that outgrow LevelDB\'s memory table are read back from the tables it wrote, in order', async (t) => {
  const dir = await tempDir(t);
  const store = await openStoreForWriting(dir);
  // ~12 MB of values: past the 4 MB write buffer, so LevelDB writes tables (in BLOCK_SIZE blocks)
  // and compacts them while the calls go in.
  const total = 20_000;
  for (let i = 0; i < total; i += 500) {
    const batch = [];
    for (let j = i; j < i + 500; j++) {
      const call = versionCall(T0 + BigInt(j));
      call.requestMetadata = [['x-n', String(j)]];
      batch.push(prepareCall(call, undefined));
    }
    await store.putCalls(batch);
  }
  await store.close();
  assert.ok((await readdir(join(dir, 'db'))).some((f) => f.endsWith('.ldb')), 'LevelDB wrote tables');
  const rec = await openRecording(dir);
  let n = 0;
  for await (const c of rec.calls()) {
    assert.equal(c.startNs, T0 + BigInt(n));
    assert.deepEqual(c.requestMetadata, [['x-n', String(n)]]);
    n++;
  }
  await rec.close();
  assert.equal(n, total);
});
