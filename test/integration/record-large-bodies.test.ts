/**
 * Large bodies (from SPOOL_FROM_BYTES on) recorded through the proxy: they reach the recorder in
 * parts, are stored in files beside LevelDB (bodies/), read back and replayed byte for byte; a
 * missing or cut body file is a clear error that costs no other call; retention removes files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startObservedProxy } from '../../src/proxy/observed-proxy.js';
import { openRecording } from '../../src/record/reader.js';
import { RecordingError } from '../../src/record/errors.js';
import { replay } from '../../src/replay/index.js';
import { encodeMessage } from '../../src/cri/codec.js';
import { rawClient, startFakeUpstream, tempSocketPath, unaryCall } from '../support/fake-upstream.js';
import { execAnswer } from '../support/exec-answer.js';
import { FORMAT_VERSION } from '../../src/record/manifest.js';

const EXEC = '/runtime.v1.RuntimeService/ExecSync';
const MiB = 1024 * 1024;


const execRequest = (i: number) => encodeMessage('runtime.v1.ExecSyncRequest', { container_id: `c${i}`, cmd: ['cat', `/big/${i}`], timeout: 10 });

async function recordAnswers(dir: string, count: number, opts: { maxCalls?: number } = {}): Promise<Buffer[]> {
  const answers = Array.from({ length: count }, () => execAnswer(randomBytes(8 * MiB)));
  const byRequest = new Map(answers.map((a, i) => [execRequest(i).toString('hex'), a]));
  const up = await startFakeUpstream({
    unary: { [EXEC]: (call, cb) => cb(null, byRequest.get((call.request as Buffer).toString('hex'))) },
  });
  const proxy = await startObservedProxy({ listen: tempSocketPath('proxy'), upstream: up.endpoint, record: dir, maxCalls: opts.maxCalls });
  const client = rawClient(proxy.endpoint);
  try {
    // All at once: their parts arrive interleaved, as the kubelet's probes' answers would.
    const results = await Promise.all(answers.map((_, i) => unaryCall(client, EXEC, execRequest(i))));
    results.forEach((r, i) => assert.ok(r.response?.equals(answers[i]!), `client got answer ${i} whole`));
    assert.equal(proxy.stats().bodiesNotCaptured, 0, 'no body dropped for want of budget');
  } finally {
    client.close();
    await proxy.close(1000);
    await up.close();
  }
  return answers;
}

test('8 MiB answers recorded through the proxy are kept whole in body files, and replay serves them byte for byte', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-large-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const answers = await recordAnswers(dir, 4);

  const manifest = JSON.parse(readFileSync(join(dir, 'critap-recording.json'), 'utf8')) as { version: number };
  assert.equal(manifest.version, FORMAT_VERSION);
  assert.equal(readdirSync(join(dir, 'bodies')).length, 4, 'one file per large body');
  let dbBytes = 0;
  for (const f of readdirSync(join(dir, 'db'))) dbBytes += statSync(join(dir, 'db', f)).size;
  assert.ok(dbBytes < MiB, `LevelDB holds no large body (${dbBytes} bytes)`);

  const rec = await openRecording(dir);
  const seen = new Map<string, Buffer>();
  for await (const c of rec.calls()) {
    assert.equal(c.truncated, undefined);
    seen.set(c.requests[0]!.data.toString('hex'), Buffer.from(c.responses[0]!.data));
  }
  const info = await rec.info();
  await rec.close();
  assert.equal(seen.size, 4);
  answers.forEach((a, i) => assert.ok(seen.get(execRequest(i).toString('hex'))?.equals(a), `recorded answer ${i} is the one sent`));
  assert.ok(info.bytes >= 4 * 8 * MiB, 'the byte count includes the body files (what retention limits)');

  // state: false: the recording holds no CreateContainer for c0…c3, so replay following the
  // containers' lives would answer NOT_FOUND; by request alone it serves the recorded answers.
  const rt = await replay({ recording: dir, state: false });
  const client = rawClient(rt.endpoint);
  try {
    for (let i = 0; i < answers.length; i++) {
      const r = await unaryCall(client, EXEC, execRequest(i));
      assert.ok(r.response?.equals(answers[i]!), `replayed answer ${i} is byte-identical`);
    }
  } finally {
    client.close();
    await rt.close();
  }
});

test('a missing or cut body file is a clear error naming it; --salvage reads every call, that one marked truncated', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-large-damage-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const answers = await recordAnswers(dir, 3);
  const files = readdirSync(join(dir, 'bodies')).sort();
  unlinkSync(join(dir, 'bodies', files[0]!));
  truncateSync(join(dir, 'bodies', files[1]!), 1000);

  const rec = await openRecording(dir);
  await assert.rejects(
    (async () => {
      for await (const _ of rec.calls());
    })(),
    (err: unknown) => err instanceof RecordingError && /is damaged: call c\d+\.\d+ lost a body: its body file bodies\/\S+ (is missing|holds 1000 bytes)/.test(err.message) && /--salvage/.test(err.message),
  );
  await rec.close();

  const salvaged = await openRecording(dir, { salvage: true });
  const whole: Buffer[] = [];
  let truncated = 0;
  for await (const c of salvaged.calls()) {
    if (c.truncated) {
      truncated++;
      assert.equal(c.responses[0]!.data.length, 0, 'the lost body reads as empty');
    } else {
      whole.push(Buffer.from(c.responses[0]!.data));
    }
  }
  assert.equal(truncated, 2);
  assert.equal(whole.length, 1);
  assert.ok(answers.some((a) => a.equals(whole[0]!)), 'the call whose file is intact reads whole');
  assert.match(salvaged.damage ?? '', /2 call\(s\) lost a body/);
  await salvaged.close();
});

test('retention removes the body files of the calls it removes', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-large-retain-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  await recordAnswers(dir, 3, { maxCalls: 1 });
  assert.equal(readdirSync(join(dir, 'bodies')).length, 1);
  const rec = await openRecording(dir);
  const info = await rec.info();
  let n = 0;
  for await (const c of rec.calls()) {
    n++;
    assert.equal(c.responses[0]!.data.length, 8 * MiB + 5, "tag, 4-byte length, stdout");
  }
  await rec.close();
  assert.equal(n, 1);
  assert.ok(info.bytes > 8 * MiB && info.bytes < 9 * MiB, `bytes counted for the one call left: ${info.bytes}`);
});

test('a connection waiting for the budget does not wait for bodies its own open calls hold (no deadlock)', async (t) => {
  // Budget 4 MiB: parts may take 1 MiB before the connection waits. Three 900 KiB requests are
  // held whole by their open calls (2.7 MiB) while their 2 MiB answers are spooled: the wait must
  // end once the parts handed over are written, not when those requests' calls end.
  const root = await mkdtemp(join(tmpdir(), 'critap-large-wait-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const answer = execAnswer(randomBytes(2 * MiB));
  const up = await startFakeUpstream({ unary: { [EXEC]: (_call, cb) => cb(null, answer) } });
  const proxy = await startObservedProxy({ listen: tempSocketPath('proxy'), upstream: up.endpoint, record: join(root, 'rec'), captureLimit: 4 * MiB, captureBudget: 4 * MiB });
  const client = rawClient(proxy.endpoint);
  const request = (i: number) => encodeMessage('runtime.v1.ExecSyncRequest', { container_id: `c${i}`, cmd: ['x'.repeat(900 * 1024)] });
  try {
    const results = await Promise.race([
      Promise.all([0, 1, 2].map((i) => unaryCall(client, EXEC, request(i)))),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('calls did not finish: the connection waits for itself')), 20_000)),
    ]);
    for (const r of results) assert.ok(r.response?.equals(answer));
    assert.equal(proxy.stats().bodiesNotCaptured, 0);
  } finally {
    client.close();
    await proxy.close(1000);
    await up.close();
  }
  const rec = await openRecording(join(root, 'rec'));
  let whole = 0;
  for await (const c of rec.calls()) if (c.responses[0]?.data.equals(answer) && c.requests[0]!.data.length > 900 * 1024) whole++;
  await rec.close();
  assert.equal(whole, 3);
});
