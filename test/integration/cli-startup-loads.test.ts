// What each light command loads, not how long it takes: `critap --help`, `version`, `ls`, `stats`
// and `show` must start without the OpenTelemetry SDK and grpc-js (hundreds of modules, most of a
// second), and --help and version without any package at all. Timing lives in the benchmark
// (npm run bench -- --only cli-startup).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEED } from './replay-helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));
const RECORD_LOADS = fileURLToPath(new URL('../support/record-loads.js', import.meta.url));

/** The npm packages (by name) a critap command loaded, and its exit code. */
async function packagesLoadedBy(t: { after(fn: () => Promise<void>): void }, ...args: string[]): Promise<{ code: number; stdout: string; packages: Set<string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'critap-loads-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'loads.json');
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', RECORD_LOADS, BIN, ...args], { env: { ...process.env, CRITAP_LOADS_FILE: file }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
  assert.equal(code, 0, `critap ${args.join(' ')}: ${stderr}`);
  const urls = JSON.parse(await readFile(file, 'utf8')) as string[];
  const packages = new Set<string>();
  for (const url of urls) {
    const at = url.lastIndexOf('/node_modules/');
    if (at < 0) continue;
    const m = /^((?:@[^/]+\/)?[^/]+)/.exec(url.slice(at + '/node_modules/'.length));
    if (m) packages.add(m[1]!);
  }
  return { code, stdout, packages };
}

const HEAVY = /^(@opentelemetry\/|@grpc\/|yaml$)/;
const heavyIn = (packages: Set<string>) => [...packages].filter((p) => HEAVY.test(p));

test('the recorder of loaded modules sees the heavy ones: replay --help loads grpc-js (its fallback client)', async (t) => {
  const { packages } = await packagesLoadedBy(t, 'replay', '--help');
  assert.ok(packages.has('@grpc/grpc-js'), `loaded: ${[...packages].join(', ')}`);
  assert.deepEqual(heavyIn(packages), ['@grpc/grpc-js']);
});

test('critap --help and critap version load no npm package at all', async (t) => {
  const help = await packagesLoadedBy(t, '--help');
  assert.match(help.stdout, /^ {2}proxy {4}forward CRI calls/m, 'every command listed, from the summaries table');
  assert.match(help.stdout, /^ {2}fault {4}change the fault rules/m);
  assert.deepEqual([...help.packages], []);
  const version = await packagesLoadedBy(t, 'version');
  assert.match(version.stdout, /^critap \d+\.\d+\.\d+ \(node /);
  assert.deepEqual([...version.packages], []);
});

test('critap ls and stats load LevelDB only: no protobuf.js, grpc-js or OpenTelemetry', async (t) => {
  const ls = await packagesLoadedBy(t, 'ls', SEED);
  assert.match(ls.stdout, /seed-walkthrough/);
  assert.ok(ls.packages.has('classic-level'), 'ls opens the recording');
  assert.deepEqual(heavyIn(ls.packages), []);
  assert.equal(ls.packages.has('protobufjs'), false);
  const stats = await packagesLoadedBy(t, 'stats', SEED);
  assert.match(stats.stdout, /ListPodSandbox/);
  assert.deepEqual(heavyIn(stats.packages), []);
  assert.equal(stats.packages.has('protobufjs'), false, 'the method table comes from the schema JSON');
});

test('critap show decodes without protobuf.js (the schema JSON is enough), grpc-js or OpenTelemetry', async (t) => {
  for (const flag of ['--verbose', '--json']) {
    const show = await packagesLoadedBy(t, 'show', SEED, '--limit', '3', flag);
    assert.match(show.stdout, flag === '--json' ? /"request":\{/ : /request:/);
    assert.ok(show.packages.has('classic-level'), 'show opens the recording');
    assert.deepEqual(heavyIn(show.packages), []);
    assert.equal(show.packages.has('protobufjs'), false, `show ${flag} loaded protobufjs`);
  }
});

test('a running critap proxy with recording and tracing keeps grpc-js, OpenTelemetry and yaml off its forwarding thread', async (t) => {
  // They belong to the observer thread (and the fault side channel, and config files): on the
  // forwarding thread they would only take memory from an idle proxy.
  const dir = await mkdtemp(join(tmpdir(), 'critap-loads-proxy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'loads.json');
  const sock = join(dir, 'critap.sock');
  const child = spawn(
    process.execPath,
    ['--import', RECORD_LOADS, BIN, 'proxy', '--listen', `unix://${sock}`, '--upstream', `unix://${join(dir, 'no-runtime.sock')}`, '--record', join(dir, 'rec'), '--otlp-endpoint', 'http://127.0.0.1:9'],
    { env: { ...process.env, CRITAP_LOADS_FILE: file }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const until = Date.now() + 30_000;
  while (!stderr.includes('critap proxy started')) {
    assert.ok(Date.now() < until, `proxy did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  const urls = JSON.parse(await readFile(file, 'utf8')) as string[];
  const packages = new Set(urls.flatMap((u) => {
    const at = u.lastIndexOf('/node_modules/');
    const m = at < 0 ? null : /^((?:@[^/]+\/)?[^/]+)/.exec(u.slice(at + '/node_modules/'.length));
    return m ? [m[1]!] : [];
  }));
  assert.match(stderr, /tracing=http:\/\/127\.0\.0\.1:9/, 'tracing was on (on the observer thread)');
  assert.deepEqual(heavyIn(packages), []);
});
