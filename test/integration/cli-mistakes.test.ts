import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEED } from './replay-helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));

function critap(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** A usage error: exit code 2, the message, the hint, and nothing started. */
async function usageError(args: string[], message: RegExp): Promise<void> {
  const r = await critap(...args);
  assert.equal(r.code, 2, `${args.join(' ')}: exit 2, got ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.match(r.stderr, new RegExp(`Run 'critap ${args[0]} --help' for usage`));
  assert.doesNotMatch(r.stderr, /Resolution note|grpc-js|\n\s+at /, 'no library internals in the message');
}

test('typos are usage errors with a suggestion; method names ignore case; an empty filter result is said', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'critap-typos-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'x.sock');

  await usageError(['show', SEED, '--method', 'Versoin'], /--method "Versoin" names no CRI method \(did you mean "Version"\?\)/);
  await usageError(['export', SEED, '--method', 'PulImage'], /did you mean "PullImage"/);
  const lower = await critap('show', SEED, '--method', 'runpodsandbox');
  assert.equal(lower.code, 0, lower.stderr);
  assert.match(lower.stdout, / RunPodSandbox /);
  const none = await critap('show', SEED, '--pod', 'no-such-pod');
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, new RegExp(`no calls in ${SEED} match --pod no-such-pod`));

  await usageError(['proxy', '--listen', sock, '--upstream', join(dir, 'up.sock'), '--record', join(dir, 'rec'), '--record-methods', 'Versoin'], /--record-methods "Versoin" names no CRI method \(did you mean "Version"\?\)/);
  await usageError(['proxy', '--listen', 'bogus://x', '--upstream', join(dir, 'up.sock')], /unsupported endpoint "bogus:\/\/x"/);
  assert.equal(existsSync(join(dir, 'rec')), false, 'nothing was started or created');

  await usageError(['replay', SEED, '--listen', sock, '--ignore', 'nosuch.field'], /--ignore "nosuch\.field": no CRI request has a field "nosuch"/);
  await usageError(['replay', SEED, '--listen', sock, '--ignore', 'RunPodSandbox:config.metdata.name'], /PodSandboxConfig has no field "metdata" \(did you mean "metadata"\?\)/);
  await usageError(['replay', SEED, '--listen', sock, '--ignore', 'RunPodSandox:config'], /did you mean "RunPodSandbox"/);
  await usageError(['replay', SEED, '--listen', sock, '--misses', '/nonexistent/dir/m.json'], /--misses \/nonexistent\/dir\/m\.json: the folder \/nonexistent\/dir does not exist/);
  assert.equal(existsSync(sock), false, 'replay did not start');

  const help = await critap('help', 'show');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: critap show <recording>/);
  const wrong = await critap('shwo', SEED);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /unknown command "shwo" \(did you mean "show"\?\)/);
});
