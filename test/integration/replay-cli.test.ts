/**
 * `critap replay` and `critap call` as a user runs them: the quick start (replay a shipped
 * recording, call it), stream output, errors, SIGTERM with a misses file, and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMessage } from '../../src/cri/codec.js';
import { BIN, EVENTS, SEED, recordedCall, recordedCalls } from './replay-helpers.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function critap(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `critap replay …` and waits for its "started" log line. */
async function startReplay(args: string[]): Promise<{ child: ChildProcess; log: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'replay', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`critap replay did not start:\n${log}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('critap replay started')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exit.then((code) => reject(new Error(`critap replay exited ${code}:\n${log}`)));
  });
  return { child, log: () => log, exit };
}

test('quick start: critap replay + critap call; SIGTERM writes the misses file and exits 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'critap-replay-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const sock = join(dir, 'cri.sock');
  const missesFile = join(dir, 'misses.json');
  const r = await startReplay([SEED, '--listen', sock, '--misses', missesFile]);
  t.after(() => r.child.kill('SIGKILL'));

  const version = await critap('call', sock, 'Version', '{"version":"v1"}', '--json');
  assert.equal(version.code, 0, version.stderr);
  const rec = await recordedCall(SEED, 'Version');
  assert.deepEqual(JSON.parse(version.stdout), decodeMessage('runtime.v1.VersionResponse', rec.responses[0]!.data));
  assert.equal(version.stdout.trim().split('\n').length, 1, '--json: one line');

  const pretty = await critap('call', `unix://${sock}`, 'RuntimeService/Status');
  assert.equal(pretty.code, 0, pretty.stderr);
  assert.match(pretty.stdout, /^\{\n {2}"status": \{/);

  const missing = await critap('call', sock, 'GetContainerEvents', '--count', '1');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^12 UNIMPLEMENTED: critap replay: the recording has no call of \/runtime\.v1\.RuntimeService\/GetContainerEvents/);

  r.child.kill('SIGTERM');
  assert.equal(await r.exit, 0, r.log());
  assert.match(r.log(), /critap replay stopped answered=2 misses=1 exact=2 nearest=0 state-chosen=0 templated=0 synthesized=0/);
  assert.ok(!existsSync(sock), 'socket removed');
  const report = JSON.parse(await readFile(missesFile, 'utf8'));
  assert.deepEqual(report.misses.map((m: { method: string; code: number }) => [m.method, m.code]), [['/runtime.v1.RuntimeService/GetContainerEvents', 12]]);
  assert.deepEqual(report.counts, { exact: 2, nearest: 0, 'state-chosen': 0, templated: 0, synthesized: 0, miss: 1 });
  assert.deepEqual(report.guesses, []);
});

test('critap call on a stream prints one JSON per message', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'critap-replay-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const sock = join(dir, 'cri.sock');
  const r = await startReplay([EVENTS, '--listen', sock]);
  t.after(() => r.child.kill('SIGKILL'));
  const out = await critap('call', sock, 'GetContainerEvents', '{}', '--count', '4', '--json');
  assert.equal(out.code, 0, out.stderr);
  const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const [rec] = await recordedCalls(EVENTS);
  assert.deepEqual(lines, rec!.responses.map((m) => decodeMessage('runtime.v1.ContainerEventResponse', m.data)));
  r.child.kill('SIGTERM');
  assert.equal(await r.exit, 0);
});

test('bad input: usage errors exit 2, other errors exit 1, all prefixed', async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['replay'], 2, /critap replay: which recording\?/],
    [['replay', SEED], 2, /--listen is required/],
    [['replay', SEED, '--listen', '/tmp/x.sock', '--timing', 'fast'], 2, /--timing wants none, recorded or a factor/],
    [['replay', SEED, '--listen', '/tmp/x.sock', '--match', 'fuzzy'], 2, /--match must be nearest, exact, sequence/],
    [['replay', SEED, '--listen', '/tmp/x.sock', '--record'], 2, /--record needs --fallback/],
    [['replay', SEED, '--listen', 'ftp://x'], 2, /unsupported endpoint/],
    [['replay', '/nonexistent/rec', '--listen', '/tmp/critap-never.sock'], 1, /critap replay: recording \/nonexistent\/rec does not exist/],
    [['call', '/tmp/x.sock'], 2, /needs an endpoint and a method/],
    [['call', '/tmp/x.sock', 'NoSuchMethod'], 2, /"NoSuchMethod" is not a CRI method/],
    [['call', '/tmp/x.sock', 'Version', '{bad'], 2, /the request is not valid JSON/],
    [['call', '/tmp/x.sock', 'Version', '{"nope":1}'], 2, /unknown field 'nope'/],
    [['call', '/tmp/x.sock', 'Version', '--count', '2'], 2, /--count is for streams/],
  ];
  for (const [args, code, pattern] of cases) {
    const r = await critap(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
  }
  // Nothing listening: the call fails with the gRPC status, exit 1.
  const down = await critap('call', '/tmp/critap-nothing-here.sock', 'Version', '--timeout', '2s');
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^14 UNAVAILABLE: /);
});

test('help texts carry pasteable examples', async () => {
  const replayHelp = await critap('replay', '--help');
  assert.equal(replayHelp.code, 0);
  assert.match(replayHelp.stdout, /critap replay recordings\/seed-walkthrough --listen \/tmp\/cri\.sock/);
  const callHelp = await critap('call', '--help');
  assert.match(callHelp.stdout, /critap call \/tmp\/cri\.sock Version/);
});
