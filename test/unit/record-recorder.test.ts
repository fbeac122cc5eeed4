import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRecorder } from '../../src/record/recorder.js';
import { openRecording } from '../../src/record/reader.js';
import { createRecording } from '../../src/record/writer.js';
import { decodeMessage } from '../../src/cri/codec.js';
import { createLogger } from '../../src/log.js';
import { bodyBytes } from '../../src/call.js';
import {
  createContainer, IMG, makeCall, pullImage, runPodSandbox, SECRET_ENV, SECRET_PASSWORD, SECRET_TOKEN, startContainer, T0, V1, versionCall, VISIBLE_IMAGE,
} from './record-fixtures.js';
import { readAllCalls } from '../support/read-recording.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'critap-rec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'rec');
}

async function allFilesBytes(dir: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    if ((await stat(p)).isFile()) out.push(await readFile(p));
  }
  return out;
}

test('secrets are redacted before writing: no file of the folder holds them', async (t) => {
  const dir = await tempDir(t);
  const rec = await openRecorder({ dir });
  rec.onCallEnd(pullImage(T0));
  rec.onCallEnd(createContainer('sb-1', 'ctr-1', T0 + 1n));
  await rec.close();
  const files = await allFilesBytes(dir);
  assert.ok(files.length >= 3);
  // Control: something stored plainly is found by this scan, so the scan can see stored strings.
  assert.ok(files.some((b) => b.includes(VISIBLE_IMAGE)), 'the non-secret image name is in the folder');
  for (const secret of [SECRET_PASSWORD, SECRET_ENV, SECRET_TOKEN]) {
    assert.ok(!files.some((b) => b.includes(secret)), `${secret} must not be stored`);
  }
  const [pull, create] = await readAllCalls(dir);
  assert.equal(pull!.method, IMG + 'PullImage');
  assert.ok(pull!.redacted!.includes('request'));
  assert.ok(pull!.redacted!.includes('metadata:authorization'));
  assert.ok(pull!.requestMetadata.some(([k, v]) => k === 'authorization' && v === 'REDACTED'));
  const req = decodeMessage('runtime.v1.PullImageRequest', pull!.requests[0]!.data) as { auth: { username: string; password: string } };
  assert.equal(req.auth.username, 'bob');
  assert.notEqual(req.auth.password, SECRET_PASSWORD);
  assert.equal(create!.ids.containerId, 'ctr-1');
  assert.equal(create!.ids.podName, 'nginx');
});

test('keepEnv keeps env values (and only then)', async (t) => {
  const dir = await tempDir(t);
  const rec = await openRecorder({ dir, keepEnv: true });
  rec.onCallEnd(createContainer('sb-1', 'ctr-1', T0));
  await rec.close();
  const [create] = await readAllCalls(dir);
  assert.ok(create!.requests[0]!.data.includes(SECRET_ENV));
});

test('methods and exclude filters choose what is recorded', async (t) => {
  const dir = await tempDir(t);
  const rec = await openRecorder({ dir, methods: ['RuntimeService/StartContainer', 'Version', '/runtime.v1.ImageService/PullImage'], exclude: ['PullImage'] });
  rec.onCallEnd(versionCall(T0));
  rec.onCallEnd(pullImage(T0 + 1n));
  rec.onCallEnd(startContainer('c1', T0 + 2n));
  rec.onCallEnd(runPodSandbox('sb', T0 + 3n));
  await rec.close();
  assert.deepEqual((await readAllCalls(dir)).map((c) => c.method), [V1 + 'Version', V1 + 'StartContainer']);
});

test('a full queue drops and counts calls, logs about it, and stats shows the drops', async (t) => {
  const dir = await tempDir(t);
  const logs: string[] = [];
  const rec = await openRecorder({ dir, queueLimit: 5, logger: createLogger({ write: (l) => logs.push(l) }) });
  // onCallEnd is synchronous: nothing is written until we yield, so the queue fills at 5.
  for (let i = 0; i < 20; i++) rec.onCallEnd(versionCall(T0 + BigInt(i)));
  assert.deepEqual(rec.stats(), { recorded: 0, dropped: 15, queued: 5 });
  assert.equal(logs.filter((l) => /dropped calls/.test(l)).length, 1, 'one warning, not one per drop');
  await rec.close();
  assert.deepEqual(rec.stats(), { recorded: 5, dropped: 15, queued: 0 });
  const r = await openRecording(dir);
  const info = await r.info();
  await r.close();
  assert.equal(info.calls, 5);
  assert.equal(info.dropped, 15);
  assert.equal(info.recorded, 5);
});

test('queued message bytes are bounded too: large answers past the limit are dropped and counted', async (t) => {
  const dir = await tempDir(t);
  const rec = await openRecorder({ dir, queueBytesLimit: 1000, logger: createLogger({ write: () => {} }) });
  const big = (i: number) => {
    const c = versionCall(T0 + BigInt(i));
    c.responses = [{ offsetNs: 1, data: Buffer.alloc(600) }];
    return c;
  };
  // The first is taken even though alone it is over half the limit; the second does not fit.
  rec.onCallEnd(big(0));
  rec.onCallEnd(big(1));
  assert.deepEqual(rec.stats(), { recorded: 0, dropped: 1, queued: 1 });
  await rec.flush();
  // Written calls free the queue's bytes again.
  rec.onCallEnd(big(2));
  assert.deepEqual(rec.stats(), { recorded: 1, dropped: 1, queued: 1 });
  await rec.close();
  assert.deepEqual(rec.stats(), { recorded: 2, dropped: 1, queued: 0 });
});

test('flush() writes everything queued before it; the recording stays appendable', async (t) => {
  const dir = await tempDir(t);
  const rec = await openRecorder({ dir, flushIntervalMs: 60_000 });
  rec.onCallEnd(versionCall(T0));
  await rec.flush();
  assert.equal(rec.stats().recorded, 1);
  await rec.close();
  const again = await openRecorder({ dir });
  again.onCallEnd(versionCall(T0 - 10n));
  await again.close();
  const calls = await readAllCalls(dir);
  assert.equal(calls.length, 2);
  assert.equal(calls[0]!.startNs, T0 - 10n, 'iteration is in start order, not write order');
  assert.notEqual(calls[0]!.key, calls[1]!.key);
});

test('retention by count keeps the newest calls and their index entries only', async (t) => {
  const dir = await tempDir(t);
  const rec = await openRecorder({ dir, maxCalls: 4 });
  for (let i = 0; i < 10; i++) rec.onCallEnd(startContainer(`ctr-${i}`, T0 + BigInt(i)));
  await rec.close();
  const calls = await readAllCalls(dir);
  assert.deepEqual(calls.map((c) => c.ids.containerId), ['ctr-6', 'ctr-7', 'ctr-8', 'ctr-9']);
  const r = await openRecording(dir);
  const gone = [];
  for await (const c of r.calls({ container: 'ctr-2' })) gone.push(c);
  const info = await r.info();
  await r.close();
  assert.equal(gone.length, 0);
  assert.equal(info.calls, 4);
  assert.equal(info.evicted, 6);
  assert.equal(info.recorded, 10);
  assert.deepEqual(info.methods, { [V1 + 'StartContainer']: 4 });
});

test('retention by bytes and by age', async (t) => {
  const dir = await tempDir(t);
  const w = await createRecording(dir);
  const now = BigInt(Date.now()) * 1_000_000n;
  const hour = 3_600_000_000_000n;
  for (let i = 0; i < 10; i++) await w.append(versionCall(now - BigInt(10 - i) * hour)); // 10h ago … 1h ago
  // While a writer holds the folder, a reader still reads it (from a snapshot of db/).
  const live = await openRecording(dir);
  assert.equal((await live.info()).calls, 10);
  await live.close();
  assert.equal(await w.applyRetention({ maxAgeMs: 5.5 * 3600_000 }), 5);
  await w.close();
  let calls = await readAllCalls(dir);
  assert.equal(calls.length, 5);
  assert.ok(calls.every((c) => c.startNs >= now - 5n * hour - hour / 2n));
  const r = await openRecording(dir);
  const { bytes } = await r.info();
  await r.close();
  const w2 = await createRecording(dir);
  assert.equal(await w2.applyRetention({ maxBytes: Math.floor(bytes / 2) }), 3, 'five equal calls, half the bytes: keep two');
  await w2.close();
  calls = await readAllCalls(dir);
  assert.equal(calls.length, 2);
});

test('show filters: --pod follows sandbox and container ids, --container, --method, --since, --limit', async (t) => {
  const dir = await tempDir(t);
  const w = await createRecording(dir);
  await w.append(
    runPodSandbox('sb-aaa', T0, 'nginx'),
    createContainer('sb-aaa', 'ctr-aaa1', T0 + 10n, 'web', 'nginx'),
    startContainer('ctr-aaa1', T0 + 20n),
    runPodSandbox('sb-bbb', T0 + 30n, 'redis'),
    createContainer('sb-bbb', 'ctr-bbb1', T0 + 40n, 'db', 'redis'),
    startContainer('ctr-bbb1', T0 + 50n),
    makeStop('sb-aaa', T0 + 60n),
    versionCall(T0 + 70n),
  );
  await w.close();
  const r = await openRecording(dir);
  t.after(() => r.close());
  const pick = async (f: Parameters<typeof r.calls>[0]) => {
    const out: string[] = [];
    for await (const c of r.calls(f)) out.push(`${c.method.split('/').pop()}@${c.startNs - T0}`);
    return out;
  };
  const nginx = ['RunPodSandbox@0', 'CreateContainer@10', 'StartContainer@20', 'StopPodSandbox@60'];
  assert.deepEqual(await pick({ pod: 'nginx' }), nginx);
  assert.deepEqual(await pick({ pod: 'web/nginx' }), nginx);
  assert.deepEqual(await pick({ pod: 'uid-nginx' }), nginx);
  assert.deepEqual(await pick({ pod: 'sb-aa' }), nginx, 'sandbox id prefix');
  assert.deepEqual(await pick({ container: 'ctr-bbb' }), ['CreateContainer@40', 'StartContainer@50']);
  assert.deepEqual(await pick({ container: 'db' }), ['CreateContainer@40'], 'by container name');
  assert.deepEqual(await pick({ pod: 'redis', container: 'ctr-aaa1' }), []);
  assert.deepEqual(await pick({ method: 'StartContainer' }), ['StartContainer@20', 'StartContainer@50']);
  assert.deepEqual(await pick({ sinceNs: T0 + 45n, limit: 2 }), ['StartContainer@50', 'StopPodSandbox@60']);
  assert.deepEqual(await pick({ pod: 'nginx', sinceNs: T0 + 15n, method: 'StopPodSandbox' }), ['StopPodSandbox@60']);
  assert.deepEqual(await pick({ pod: 'nobody' }), []);
  const info = await r.info();
  assert.equal(info.calls, 8);
  assert.equal(info.firstStartNs, T0);
  assert.equal(info.lastStartNs, T0 + 70n);
});

function makeStop(sandboxId: string, startNs: bigint) {
  return makeCall({ method: V1 + 'StopPodSandbox', request: { podSandboxId: sandboxId }, startNs });
}

test('compressed and unparseable bodies: checked decompressed, or dropped when they cannot be checked', async (t) => {
  const { gzipSync } = await import('node:zlib');
  const dir = await tempDir(t);
  const rec = await openRecorder({ dir });
  const gz = pullImage(T0);
  gz.requestMetadata = [...gz.requestMetadata, ['grpc-encoding', 'gzip']];
  gz.requests = [{ offsetNs: 0, data: gzipSync(gz.requests[0]!.data), compressed: true }];
  const odd = pullImage(T0 + 1n);
  odd.requestMetadata = [['grpc-encoding', 'snappy']];
  odd.requests = [{ offsetNs: 0, data: Buffer.from(`not really snappy ${SECRET_PASSWORD}`), compressed: true }];
  const junk = pullImage(T0 + 2n);
  junk.requests = [{ offsetNs: 0, data: Buffer.concat([Buffer.from([0x12, 0x7f]), Buffer.from(SECRET_PASSWORD)]) }];
  rec.onCallEnd(gz);
  rec.onCallEnd(odd);
  rec.onCallEnd(junk);
  await rec.close();
  for (const b of await allFilesBytes(dir)) assert.ok(!b.includes(SECRET_PASSWORD));
  const [a, b, c] = await readAllCalls(dir);
  assert.equal(a!.requests[0]!.compressed, undefined, 'redacted bytes are stored decompressed');
  const req = decodeMessage('runtime.v1.PullImageRequest', a!.requests[0]!.data) as { auth: { username: string } };
  assert.equal(req.auth.username, 'bob');
  assert.deepEqual(b!.redacted, ['request:dropped-undecodable-compressed']);
  assert.equal(b!.requests[0]!.data.length, 0);
  assert.ok(c!.redacted!.includes('request:dropped-unparseable'));
});

test('release: a call\'s body bytes are given back once it is written, dropped or not wanted, never before', async (t) => {
  const dir = await tempDir(t);
  const released: number[] = [];
  const rec = await openRecorder({
    dir,
    flushIntervalMs: 60_000,
    queueLimit: 2,
    exclude: ['ImageStatus'],
    release: (n) => released.push(n),
    logger: createLogger({ write: () => {} }),
  });
  const sized = (i: number, bytes: number) => {
    const c = versionCall(T0 + BigInt(i));
    c.responses = [{ offsetNs: 1, data: Buffer.alloc(bytes) }];
    return c;
  };
  const calls = [sized(0, 100), sized(1, 200), sized(2, 300)];
  rec.onCallEnd(calls[0]!);
  rec.onCallEnd(calls[1]!);
  assert.deepEqual(released, [], 'queued calls still hold their bodies');
  rec.onCallEnd(calls[2]!); // the queue is full: dropped, given back at once
  assert.deepEqual(released, [bodyBytes(calls[2]!)]);
  const excluded = makeCall({ method: IMG + 'ImageStatus', request: { image: { image: 'x' } } });
  rec.onCallEnd(excluded);
  assert.deepEqual(released, [bodyBytes(calls[2]!), bodyBytes(excluded)], 'a call not recorded is given back at once');
  await rec.flush();
  assert.deepEqual(released.slice(2), [bodyBytes(calls[0]!) + bodyBytes(calls[1]!)], 'the written batch is given back');
  assert.equal(rec.stats().recorded, 2);
  await rec.close();
});

test('large answers are written a few at a time, each batch given back as soon as it is written', async (t) => {
  const dir = await tempDir(t);
  const released: number[] = [];
  const rec = await openRecorder({ dir, flushIntervalMs: 60_000, release: (n) => released.push(n) });
  const MiB = 1024 * 1024;
  for (let i = 0; i < 3; i++) {
    const c = versionCall(T0 + BigInt(i));
    c.responses = [{ offsetNs: 1, data: Buffer.alloc(3 * MiB, i) }];
    rec.onCallEnd(c);
  }
  await rec.flush();
  // 3 MiB + 3 MiB reaches the 4 MiB batch bound: two calls, then one; not all three at once.
  assert.equal(released.length, 2);
  assert.ok(released[0]! > 6 * MiB && released[0]! < 7 * MiB && released[1]! > 3 * MiB && released[1]! < 4 * MiB, String(released));
  await rec.close();
  const calls = await readAllCalls(dir);
  assert.deepEqual(calls.map((c) => c.responses[0]!.data[0]), [0, 1, 2]);
});

test('large answers are written without waiting for the flush timer', async (t) => {
  const dir = await tempDir(t);
  let released = 0;
  const rec = await openRecorder({ dir, flushIntervalMs: 60_000, release: (n) => (released += n) });
  const c = versionCall(T0);
  c.responses = [{ offsetNs: 1, data: Buffer.alloc(5 * 1024 * 1024) }];
  rec.onCallEnd(c);
  const until = Date.now() + 5000;
  while (rec.stats().recorded === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  assert.equal(rec.stats().recorded, 1, 'written long before the 60 s timer');
  assert.ok(released >= 5 * 1024 * 1024);
  await rec.close();
});

test('a call that cannot be encoded is not stored: counted as dropped (in stats and the stored counters), given back, later calls stored', async (t) => {
  const dir = await tempDir(t);
  const released: number[] = [];
  const warnings: string[] = [];
  const rec = await openRecorder({ dir, flushIntervalMs: 60_000, release: (n) => released.push(n), logger: createLogger({ write: (line) => void warnings.push(line) }) });
  const broken = versionCall(T0);
  (broken as { status: unknown }).status = undefined;
  const good = versionCall(T0 + 1n);
  rec.onCallEnd(broken);
  rec.onCallEnd(good);
  await rec.flush();
  assert.deepEqual(rec.stats(), { recorded: 1, dropped: 1, queued: 0 });
  assert.equal(released.reduce((a, b) => a + b, 0), bodyBytes(broken) + bodyBytes(good), 'both calls\' bytes are given back');
  assert.ok(warnings.some((w) => w.includes('could not encode')));
  await rec.close();
  assert.deepEqual((await readAllCalls(dir)).map((c) => c.startNs), [T0 + 1n]);
  const stored = await openRecording(dir);
  try {
    assert.equal((await stored.info()).dropped, 1, 'the drop is in the stored counters');
  } finally {
    await stored.close();
  }
});

test('prepareOnArrival (the observer thread\'s recorder) stores the same entries, counters and drops, and gives bytes back only once written', async (t) => {
  const { gzipSync } = await import('node:zlib');
  const { Store } = await import('../../src/record/store.js');
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const calls = () => {
    const gz = pullImage(T0 + 5n);
    gz.requestMetadata = [...gz.requestMetadata, ['grpc-encoding', 'gzip']];
    gz.requests = [{ offsetNs: 0, data: gzipSync(gz.requests[0]!.data), compressed: true }];
    const broken = versionCall(T0 + 6n);
    (broken as { status: unknown }).status = undefined;
    return [
      pullImage(T0),
      runPodSandbox('sb-1', T0 + 1n, 'web'),
      createContainer('sb-1', 'ctr-1', T0 + 2n),
      makeCall({ method: V1 + 'ExecSync', request: { containerId: 'ctr-1', cmd: ['env'] }, responses: [{ stdout: b64(`DB=${SECRET_ENV}`), stderr: '', exitCode: 0 }], startNs: T0 + 3n }),
      { ...versionCall(T0 + 4n), status: { code: 2, message: `no: ${SECRET_ENV}` } },
      gz,
      broken,
      versionCall(T0 + 7n),
    ];
  };
  const record = async (prepareOnArrival: boolean) => {
    const dir = await tempDir(t);
    const released: number[] = [];
    const rec = await openRecorder({ dir, flushIntervalMs: 60_000, prepareOnArrival, release: (n) => released.push(n), logger: createLogger({ write: () => {} }) });
    const sent = calls();
    for (const c of sent) rec.onCallEnd(c);
    const broken = bodyBytes(sent[6]!);
    // A call that cannot be prepared is given back when it is dropped; every other call only once written.
    assert.deepEqual(released, prepareOnArrival ? [broken] : []);
    await rec.flush();
    const stats = rec.stats();
    await rec.close();
    const store = await Store.open(dir, 'read');
    const entries: Array<[string, string]> = [];
    try {
      for await (const [k, v] of store.db.iterator()) entries.push([k, v.toString('hex')]);
    } finally {
      await store.close();
    }
    return { entries, stats, released: released.reduce((a, b) => a + b, 0), sentBytes: sent.reduce((a, c) => a + bodyBytes(c), 0) };
  };
  const later = await record(false);
  const early = await record(true);
  assert.deepEqual(early.entries, later.entries);
  assert.deepEqual(early.stats, later.stats);
  assert.deepEqual(early.stats, { recorded: 7, dropped: 1, queued: 0 });
  assert.equal(early.released, early.sentBytes, 'every byte is given back');
  assert.ok(later.entries.some(([k]) => k.startsWith('x')), 'index entries are compared too');
});
