import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { decodeMessage } from '../../src/cri/codec.js';
import { callToJsonl } from '../../src/record/jsonl.js';
import { openRecorder } from '../../src/record/recorder.js';
import { SecretMemory } from '../../src/record/secret-memory.js';
import { readAllCalls } from '../support/read-recording.js';
import { createContainer, makeCall, pullImage, SECRET_ENV, SECRET_PASSWORD, T0, V1 } from './record-fixtures.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function folderBytes(dir: string): Promise<Buffer> {
  const out: Buffer[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    if ((await stat(p)).isFile()) out.push(await readFile(p));
  }
  return Buffer.concat(out);
}

test('a redacted env value printed later by the container (ExecSync stdout) is scrubbed there too', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-echo-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const rec = await openRecorder({ dir });
  rec.onCallEnd(pullImage(T0));
  rec.onCallEnd(createContainer('sb-1', 'ctr-1', T0 + 1n));
  rec.onCallEnd(
    makeCall({
      method: V1 + 'ExecSync',
      request: { containerId: 'ctr-1', cmd: ['sh', '-c', 'echo $DB_PASSWORD'] },
      responses: [{ stdout: b64(`password is ${SECRET_ENV}\n`), stderr: b64(`login ${SECRET_PASSWORD} ok`), exitCode: 0 }],
      startNs: T0 + 2n,
    }),
  );
  rec.onCallEnd({
    ...makeCall({ method: V1 + 'StopContainer', request: { containerId: 'ctr-1' }, code: 2, startNs: T0 + 3n }),
    status: { code: 2, message: `cannot stop: env ${SECRET_ENV} rejected` },
    responseTrailers: [['grpc-status', '2'], ['x-echo', SECRET_ENV]],
  });
  await rec.close();

  const bytes = await folderBytes(dir);
  assert.ok(bytes.includes('password is '), 'control: the rest of stdout is stored as it was');
  for (const secret of [SECRET_ENV, SECRET_PASSWORD]) assert.ok(!bytes.includes(secret), `${secret} is nowhere in the folder`);

  const calls = await readAllCalls(dir);
  const exec = calls.find((c) => c.method.endsWith('ExecSync'))!;
  const res = decodeMessage('runtime.v1.ExecSyncResponse', exec.responses[0]!.data) as { stdout: string; stderr: string };
  assert.equal(Buffer.from(res.stdout, 'base64').toString(), `password is ${'*'.repeat(SECRET_ENV.length)}\n`, 'same length, still decodes');
  assert.equal(Buffer.from(res.stderr, 'base64').toString(), `login ${'*'.repeat(SECRET_PASSWORD.length)} ok`);
  assert.ok(exec.redacted?.includes('response:redacted-value-repeated'), String(exec.redacted));
  const stop = calls.find((c) => c.method.endsWith('StopContainer'))!;
  assert.doesNotMatch(stop.status.message, new RegExp(SECRET_ENV));
  assert.match(stop.status.message, /^cannot stop: env \*+ rejected$/);
  assert.ok(stop.responseTrailers.some(([k, v]) => k === 'x-echo' && /^\*+$/.test(v)));
  const jsonl = calls.map((c) => callToJsonl(c)).join('\n');
  for (const secret of [SECRET_ENV, SECRET_PASSWORD]) {
    assert.ok(!jsonl.includes(secret) && !jsonl.includes(b64(secret)), 'the export holds it neither plain nor in base64');
  }
});

test('SecretMemory: finds values anywhere in a body, ignores short ones, keeps no value in the clear', () => {
  const m = new SecretMemory();
  m.remember(Buffer.from('s3cr3t-value'));
  m.remember(Buffer.from('abc')); // too short to track
  assert.equal(m.size, 1);
  assert.equal(m.scrub(Buffer.from('nothing here, abc'))?.toString(), undefined);
  assert.equal(m.scrub(Buffer.from('s3cr3t-value'))?.toString(), '************');
  assert.equal(m.scrub(Buffer.from('xs3cr3t-values3cr3t-value'))?.toString(), 'x************************');
  assert.equal(m.scrubText('a s3cr3t-value b'), 'a ************ b');
  assert.doesNotMatch(inspect(m, { depth: 10, showHidden: true }), /s3cr3t/);
  assert.equal(new SecretMemory().scrub(Buffer.from('s3cr3t-value')), undefined, 'memories are per recorder');
});

test('a secret echoed in a large output is scrubbed before the body is packed, and is found in no stored or decoded byte', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-echo-big-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const rec = await openRecorder({ dir });
  rec.onCallEnd(createContainer('sb-1', 'ctr-1', T0));
  // 60 KB of log lines: packed when stored (src/record/packed-bodies.ts), so a byte scan of the
  // folder alone could not see into it; the decoded bodies are checked as well.
  const lines = Array.from({ length: 1200 }, (_, i) => `line ${i}: connecting to db as app${i === 600 ? ` with ${SECRET_ENV}` : ''}\n`).join('');
  const marker = 'line 777: connecting to db as app';
  rec.onCallEnd(
    makeCall({
      method: V1 + 'ExecSync',
      request: { containerId: 'ctr-1', cmd: ['cat', '/var/log/app.log'] },
      responses: [{ stdout: b64(lines), exitCode: 0 }],
      startNs: T0 + 1n,
    }),
  );
  await rec.close();

  const bytes = await folderBytes(dir);
  assert.ok(!bytes.includes(marker), 'control: the output is stored packed, not as it is');
  assert.ok(!bytes.includes(SECRET_ENV));
  const calls = await readAllCalls(dir);
  const exec = calls.find((c) => c.method.endsWith('ExecSync'))!;
  const stdout = Buffer.from((decodeMessage('runtime.v1.ExecSyncResponse', exec.responses[0]!.data) as { stdout: string }).stdout, 'base64').toString();
  assert.ok(stdout.includes(marker), 'control: the decoded output holds the log');
  assert.equal(stdout.length, lines.length);
  assert.ok(!stdout.includes(SECRET_ENV), 'the echoed secret was scrubbed before packing');
  assert.ok(stdout.includes(`with ${'*'.repeat(SECRET_ENV.length)}`));
  for (const c of calls) for (const m of [...c.requests, ...c.responses]) assert.ok(!m.data.includes(SECRET_ENV), `${c.method}: no decoded body holds it`);
});
