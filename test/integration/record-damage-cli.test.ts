import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEED } from './replay-helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));

function critap(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = execFile(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
    if (input !== undefined) p.stdin!.end(input);
  });
}

test('one flipped byte in a copy of the shipped recording: every reader says so, --salvage gets the intact calls out', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-damage-cli-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'seed-copy');
  await cp(SEED, dir, { recursive: true });
  const log = join(dir, 'db', '000003.log');
  const bytes = await readFile(log);
  bytes[Math.floor(bytes.length / 3)]! ^= 0xff;
  await writeFile(log, bytes);

  for (const args of [['stats', dir], ['show', dir], ['export', dir], ['replay', dir, '--listen', join(root, 'r.sock')]]) {
    const r = await critap(args);
    assert.equal(r.code, 1, `${args[0]} exits 1: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^critap ${args[0]}: recording ${dir} is damaged: it holds \\d+ of the 18 calls it should`), r.stderr);
    assert.doesNotMatch(r.stderr, /critap-(read|replay)-/, 'names the recording, not a temp copy');
  }

  const salvaged = await critap(['export', dir, '--salvage']);
  assert.equal(salvaged.code, 0, salvaged.stderr);
  assert.match(salvaged.stderr, /warning: recording .* is damaged: it holds \d+ of the 18 calls/);
  const lines = salvaged.stdout.trim().split('\n');
  assert.ok(lines.length > 0 && lines.length < 18, `${lines.length} intact calls`);
  const fresh = join(root, 'salvaged');
  const imported = await critap(['import', '-', fresh], salvaged.stdout);
  assert.equal(imported.code, 0, imported.stderr);
  const stats = await critap(['stats', fresh, '--json']);
  assert.equal(stats.code, 0, stats.stderr);
  assert.equal(JSON.parse(stats.stdout).totals.calls, lines.length, 'the salvaged copy is a whole recording of the intact calls');
});
