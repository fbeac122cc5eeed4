// What each light command loads, not how long it takes: `critap --help`, `version`, `ls`, `stats`
// and `show` must start without the OpenTelemetry SDK and grpc-js (hundreds of modules, most of a
// second), and --help and version without any package at all. Timing lives in the benchmark
// (npm run bench -- --only cli-startup).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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

test('the recorder of loaded modules sees the heavy ones: proxy --help loads grpc-js and OpenTelemetry', async (t) => {
  const { packages } = await packagesLoadedBy(t, 'proxy', '--help');
  assert.ok(packages.has('@grpc/grpc-js'), `loaded: ${[...packages].join(', ')}`);
  assert.ok([...packages].some((p) => p.startsWith('@opentelemetry/')), `loaded: ${[...packages].join(', ')}`);
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

test('critap show decodes with protobuf.js, without grpc-js or OpenTelemetry', async (t) => {
  const show = await packagesLoadedBy(t, 'show', SEED, '--limit', '3', '--verbose');
  assert.match(show.stdout, /request:/);
  assert.ok(show.packages.has('protobufjs'));
  assert.deepEqual(heavyIn(show.packages), []);
});
