import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRecording } from '../../src/record/writer.js';
import { makeCall, T0, V1, versionCall } from '../unit/record-fixtures.js';
import { SEED } from './replay-helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));

function critap(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

async function tempRoot(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'critap-details-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

test('importing the same file twice keeps one copy of each call', async (t) => {
  const root = await tempRoot(t);
  const file = join(root, 'seed.jsonl');
  assert.equal((await critap('export', SEED, '--out', file)).code, 0);
  const dir = join(root, 'copy');
  const first = await critap('import', file, dir);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /imported 18 calls/);
  const second = await critap('import', file, dir);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /imported 0 calls into .*; skipped 18 already in it/);
  const stats = JSON.parse((await critap('stats', dir, '--json')).stdout) as { totals: { calls: number } };
  assert.equal(stats.totals.calls, 18);
});

test('stats: a watch its client cancelled is not an error; a cancelled unary call and a runtime reset are', async (t) => {
  const dir = join(await tempRoot(t), 'rec');
  const w = await createRecording(dir);
  const events = makeCall({ method: V1 + 'GetContainerEvents', responses: [{ containerId: 'c1' }], startNs: T0 });
  const cancelled = { end: 'client-reset' as const, status: { code: 1, message: 'cancelled by the client (RST_STREAM code 8)' } };
  await w.append(
    { ...events, ...cancelled },
    { ...makeCall({ method: V1 + 'GetContainerEvents', startNs: T0 + 1n }), end: 'server-reset', status: { code: 13, message: 'reset' } },
    { ...versionCall(T0 + 2n), ...cancelled },
  );
  await w.close();
  const r = await critap('stats', dir, '--json');
  assert.equal(r.code, 0, r.stderr);
  const methods = (JSON.parse(r.stdout) as { methods: { method: string; errors: number; cancelled: number }[] }).methods;
  const ev = methods.find((m) => m.method.endsWith('/GetContainerEvents'))!;
  assert.deepEqual({ errors: ev.errors, cancelled: ev.cancelled }, { errors: 1, cancelled: 1 });
  const version = methods.find((m) => m.method.endsWith('/Version'))!;
  assert.equal(version.errors, 1);
});

test('an export of many calls to a file prints no listener warning', async (t) => {
  const dir = join(await tempRoot(t), 'rec');
  const w = await createRecording(dir);
  // Large answers, so the file stream pushes back on nearly every write.
  const big = { version: '0.1.0', runtimeName: 'x'.repeat(64 * 1024), runtimeVersion: 'v', runtimeApiVersion: 'v1' };
  await w.append(...Array.from({ length: 129 }, (_, i) => makeCall({ method: V1 + 'Version', responses: [big], startNs: T0 + BigInt(i) })));
  await w.close();
  const out = join(dir, '..', 'out.jsonl');
  const r = await critap('export', dir, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Warning/);
  assert.equal((await readFile(out, 'utf8')).trim().split('\n').length, 129);
});

test('ls: a manifest with odd text keeps the table in line and gives the reason below it', async (t) => {
  const root = await tempRoot(t);
  await cp(SEED, join(root, 'good'), { recursive: true });
  await cp(SEED, join(root, 'odd'), { recursive: true });
  await writeFile(join(root, 'odd', 'critap-recording.json'), JSON.stringify({ format: 'critap-recording', version: 9, createdBy: 'x\n\u001b[31mred' }));
  const r = await critap('ls', root);
  assert.equal(r.code, 0, r.stderr);
  const [table, notes] = r.stdout.split('\n\n');
  const lines = table!.split('\n');
  assert.equal(lines.length, 3, `header and two rows: ${r.stdout}`);
  const col = lines[0]!.indexOf('METHODS');
  for (const l of lines.slice(1)) assert.ok(l.length >= col, `every row reaches the METHODS column: ${l}`);
  assert.match(lines.find((l) => l.includes('odd'))!, /unreadable \(note 1 below\)$/);
  assert.match(notes!, /^1\. .*odd: recording .* uses format version 9 \(written by x \[31mred\)/);
  assert.doesNotMatch(r.stdout, /\u001b/);
});

test('grpc-js wording does not leak: no dangling "Resolution note"', async (t) => {
  const root = await tempRoot(t);
  const r = await critap('call', join(root, 'nothing.sock'), 'Version');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /UNAVAILABLE/);
  assert.match(r.stderr, /nothing\.sock/);
  assert.doesNotMatch(r.stderr, /Resolution note|Error: connect/);
});
