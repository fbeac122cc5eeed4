/**
 * Recording format 5: a body of 4 KiB or more that repeats (a kubelet's relist answers) is kept
 * once, in a body file every later call with the same bytes names (src/record/repeated-bodies.ts),
 * and retention removes that file with the last call naming it (src/record/shared-files.ts).
 * Every reader gives back the recorded bytes; the counters count each file once; a secret is
 * redacted before bodies are compared, so it never reaches a kept file; a lost file is salvaged
 * like any body file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import type { CallRecord } from '../../src/call.js';
import { openRecorder } from '../../src/record/recorder.js';
import { openRecording } from '../../src/record/reader.js';
import { createRecording } from '../../src/record/writer.js';
import { CALL_END, CALL_PREFIX, SHARED_FILE_END, SHARED_FILE_PREFIX } from '../../src/record/keys.js';
import { PID_FILE } from '../../src/record/store.js';
import { makeCall, V1 } from '../unit/record-fixtures.js';
import { readAllCalls } from '../support/read-recording.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));
const critap = (...args: string[]) => promisify(execFile)(process.execPath, [BIN, ...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
const hex = (s: string) => createHash('sha256').update(s).digest('hex');
const SEC = 1_000_000_000n;
const T0 = 1_790_000_000n * SEC;

/** A ListContainers answer of `n` containers (about 500 bytes each), `variant` changing every id. */
function relist(n: number, variant: string, second: number): CallRecord {
  const containers = Array.from({ length: n }, (_, i) => ({
    id: hex(`${variant}-c${i}`),
    pod_sandbox_id: hex(`${variant}-p${i >> 1}`),
    metadata: { name: `app-${i % 2}`, attempt: 0 },
    image: { image: `sha256:${hex(`i${i % 3}`)}` },
    state: 'CONTAINER_RUNNING',
    labels: { 'io.kubernetes.pod.name': `web-${i >> 1}`, 'io.kubernetes.pod.namespace': 'team-a', 'io.kubernetes.pod.uid': hex(`${variant}-u${i >> 1}`).slice(0, 36) },
  }));
  return makeCall({ method: V1 + 'ListContainers', request: { filter: {} }, responses: [{ containers }], startNs: T0 + BigInt(second) * SEC });
}

/** `f` entries (file → count of calls naming it) and the bytes of the call values, read from db/ of a closed recording. */
async function storedState(dir: string): Promise<{ counts: Map<string, number>; valueBytes: number; calls: number }> {
  const db = new Level<string, Buffer>(join(dir, 'db'), { valueEncoding: 'buffer' });
  await db.open();
  const counts = new Map<string, number>();
  let valueBytes = 0;
  let calls = 0;
  try {
    for await (const [k, v] of db.iterator({ gte: SHARED_FILE_PREFIX, lt: SHARED_FILE_END })) counts.set(k.slice(1), Number(v.toString()));
    for await (const v of db.values({ gte: CALL_PREFIX, lt: CALL_END })) {
      valueBytes += v.length;
      calls++;
    }
  } finally {
    await db.close();
  }
  return { counts, valueBytes, calls };
}

const bodyFiles = (dir: string): string[] => {
  try {
    return readdirSync(join(dir, 'bodies')).sort();
  } catch {
    return [];
  }
};
const filesBytes = (dir: string) => bodyFiles(dir).reduce((n, f) => n + statSync(join(dir, 'bodies', f)).size, 0);

async function record(dir: string, calls: CallRecord[], opts: { maxCalls?: number } = {}): Promise<void> {
  const rec = await openRecorder({ dir, ...opts });
  for (const c of calls) rec.onCallEnd(c);
  await rec.close();
}

/** The counters' bytes are the values plus every body file once. */
async function assertBytesCounted(dir: string): Promise<void> {
  const r = await openRecording(dir);
  const info = await r.info();
  await r.close();
  const { valueBytes } = await storedState(dir);
  assert.equal(info.bytes, valueBytes + filesBytes(dir), 'counters: values plus each body file once');
}

test('a relist answer that repeats is kept once in a file the later calls name, and every reader gives back the recorded bytes', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-repeat-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  // big: ~150 KB, kept packed; small: ~10 KB, kept as it is (too small to pack); once: never repeats.
  const plan: Array<[number, string]> = [[300, 'big'], [300, 'big'], [20, 'small'], [300, 'big'], [20, 'small'], [300, 'once'], [300, 'big'], [20, 'small']];
  const calls = plan.map(([n, v], i) => relist(n, v, i));
  const big = calls[0]!.responses[0]!.data;
  const small = calls[2]!.responses[0]!.data;
  assert.ok(big.length > 100_000 && small.length > 4096 && small.length < 32 * 1024, `answers of ${big.length} and ${small.length} bytes`);
  await record(dir, calls);

  const files = bodyFiles(dir);
  assert.equal(files.length, 2, `one file for each repeated answer: ${files.join(', ')}`);
  const sizes = files.map((f) => statSync(join(dir, 'bodies', f)).size).sort((a, b) => a - b);
  assert.equal(sizes[0], small.length, 'the small answer is kept as it is');
  assert.ok(sizes[1]! < big.length / 2, `the big answer is kept packed (${sizes[1]} of ${big.length} bytes)`);
  const { counts } = await storedState(dir);
  assert.deepEqual([...counts.values()].sort(), [2, 3], 'the calls after the first of each name its file: big 3, small 2');
  await assertBytesCounted(dir);

  const read = await readAllCalls(dir);
  assert.equal(read.length, calls.length);
  read.forEach((c, i) => assert.ok(c.responses[0]!.data.equals(calls[i]!.responses[0]!.data), `call ${i} reads back its answer`));

  // export writes bodies whole; import keeps repeats once again; export of that is the same bytes.
  const exported = join(root, 'calls.jsonl');
  await critap('export', dir, '--out', exported);
  const imported = join(root, 'imported');
  await critap('import', exported, imported);
  assert.equal(bodyFiles(imported).length, 2, 'import keeps each repeated answer once too');
  assert.equal((await critap('export', imported)).stdout, readFileSync(exported, 'utf8'));
  await assertBytesCounted(imported);
});

test('retention removes a kept answer with the last call naming it, also after the recording is reopened', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-repeat-retain-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const a = (s: number) => relist(30, 'a', s);
  const b = (s: number) => relist(30, 'b', s);
  await record(dir, [a(0), a(1), a(2), a(3)], { maxCalls: 2 });
  // The first (inline) call and the second went; the last two name the kept file.
  assert.equal(bodyFiles(dir).length, 1);
  const fileOfA = bodyFiles(dir)[0]!;
  assert.deepEqual([...(await storedState(dir)).counts], [[fileOfA, 2]]);
  await assertBytesCounted(dir);

  // Reopened: the counts carry on. One call naming A's file stays: so does the file.
  const w = await createRecording(dir);
  await w.append(b(4), b(5));
  assert.equal(await w.applyRetention({ maxCalls: 3 }), 1);
  await w.close();
  assert.deepEqual(bodyFiles(dir).length, 2, "A's file (one call left) and B's");
  assert.equal((await storedState(dir)).counts.get(fileOfA), 1);
  await assertBytesCounted(dir);

  // The last call naming A goes: its file and its count go with it.
  const w2 = await createRecording(dir);
  assert.equal(await w2.applyRetention({ maxCalls: 1 }), 2);
  await w2.close();
  assert.ok(!bodyFiles(dir).includes(fileOfA), `A's file is gone: ${bodyFiles(dir).join(', ')}`);
  assert.equal((await storedState(dir)).counts.has(fileOfA), false);
  const left = await readAllCalls(dir);
  assert.equal(left.length, 1);
  assert.ok(left[0]!.responses[0]!.data.equals(b(5).responses[0]!.data));
  await assertBytesCounted(dir);

  // Every call removed: no file left either.
  const w3 = await createRecording(dir);
  await w3.applyRetention({ maxAgeMs: 0 });
  await w3.close();
  assert.deepEqual(bodyFiles(dir), []);
  assert.equal((await storedState(dir)).counts.size, 0);
});

test('retention that removes every call naming a kept file while the recorder still remembers it keeps the file for the next repeat', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-repeat-pinned-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  // Calls from an old day, removed by a one-hour age limit as soon as retention runs.
  const rec = await openRecorder({ dir, maxAgeMs: 3_600_000, retentionIntervalMs: 20 });
  for (let s = 0; s < 3; s++) rec.onCallEnd(relist(30, 'a', s));
  await rec.flush();
  const [file] = bodyFiles(dir);
  assert.ok(file, 'the repeat was kept in a file');
  const storedCalls = async () => {
    const r = await openRecording(dir);
    const n = (await r.info()).calls;
    await r.close();
    return n;
  };
  for (let i = 0; i < 100 && (await storedCalls()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await storedCalls(), 0, 'retention removed the three calls');
  assert.deepEqual(bodyFiles(dir), [file], 'no stored call names the file, and the recorder still may: it stays');
  const now = relist(30, 'a', 0);
  now.startNs = BigInt(Date.now()) * 1_000_000n;
  rec.onCallEnd(now);
  await rec.close();
  const left = await readAllCalls(dir);
  assert.equal(left.length, 1);
  assert.ok(left[0]!.responses[0]!.data.equals(now.responses[0]!.data), 'the new call names the kept file, which is there');
  assert.deepEqual(bodyFiles(dir), [file]);
  await assertBytesCounted(dir);
});

test('a secret in a repeated body is redacted before bodies are compared: the kept file never holds it', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-repeat-secret-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const SECRET = 'hunter2-do-not-store';
  const create = (s: number) =>
    makeCall({
      method: V1 + 'CreateContainer',
      request: {
        pod_sandbox_id: hex('sandbox'),
        config: {
          metadata: { name: 'app' },
          image: { image: '127.0.0.1:5000/app:1' },
          envs: [{ key: 'DB_PASSWORD', value: SECRET }],
          labels: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`label-${i}`, hex(`l${i}`)])),
        },
      },
      responses: [{ container_id: hex('c') }],
      startNs: T0 + BigInt(s) * SEC,
    });
  assert.ok(create(0).requests[0]!.data.length > 4096);
  await record(dir, [create(0), create(1), create(2)]);
  const files = bodyFiles(dir);
  assert.equal(files.length, 1, 'the repeated (redacted) request is kept once');
  for (const f of files) assert.ok(!readFileSync(join(dir, 'bodies', f)).includes(SECRET), 'no secret in the kept file');
  for (const c of await readAllCalls(dir)) {
    assert.ok(!c.requests[0]!.data.includes(SECRET));
    assert.ok(c.redacted && c.redacted.length > 0, 'each call says it was redacted');
  }
});

test('a lost kept file: a clear error naming it; --salvage reads every call, those naming it marked truncated', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-repeat-lost-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  await record(dir, [relist(30, 'a', 0), relist(30, 'a', 1), relist(30, 'a', 2)]);
  const [file] = bodyFiles(dir);
  await unlink(join(dir, 'bodies', file!));
  await assert.rejects(critap('show', dir, '--json'), (err: Error & { stderr: string }) => err.stderr.includes(file!) && err.stderr.includes('--salvage'));
  const r = await openRecording(dir, { salvage: true });
  const truncated: boolean[] = [];
  for await (const c of r.calls()) truncated.push(c.truncated === true);
  await r.close();
  assert.deepEqual(truncated, [false, true, true], 'the first call kept its answer inline');
});

test('after a crash, the orphan sweep keeps the kept files calls name and removes one no call names', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-repeat-crash-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  await record(dir, [relist(30, 'a', 0), relist(30, 'a', 1)]);
  const [kept] = bodyFiles(dir);
  // What a writer killed between writing a kept file and storing the call naming it leaves.
  const orphan = `${'0'.repeat(12)}-1.body`;
  await writeFile(join(dir, 'bodies', orphan), 'x'.repeat(5000));
  await writeFile(join(dir, PID_FILE), '1\n');
  const w = await createRecording(dir);
  await w.close();
  assert.deepEqual(bodyFiles(dir), [kept]);
  assert.equal((await readAllCalls(dir)).length, 2);
});
