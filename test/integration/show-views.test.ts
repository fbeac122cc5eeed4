/**
 * `critap show` for people (one line a call, --verbose, --json with client and metadata),
 * `stats` with show's filters, and `show --follow` printing calls while `critap proxy --record`
 * stores them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { startCliProxy, CRITAP_BIN } from '../support/cli-proxy.js';
import { rawClient, startFakeUpstream, tempSocketPath, unaryCall } from '../support/fake-upstream.js';
import { repoRoot } from '../support/paths.js';

const SEED = join(repoRoot(), 'recordings', 'seed-walkthrough');

async function critap(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CRITAP_BIN, ...args]);
  return stdout;
}

test('show: one line a call with client, pod/container names and a request summary; values as people read them', async () => {
  const lines = (await critap('show', SEED)).trimEnd().split('\n');
  assert.equal(lines[0], '--- 2026-11-27 (UTC) ---');
  assert.equal(lines.length, 1 + 18);
  const run = lines.find((l) => l.includes(' RunPodSandbox '))!;
  assert.match(run, /^00:49:21\.023149 {2}grpc-node-js +RunPodSandbox +critap-e2e\/critap-walk +309\.144ms {2}OK +pod critap-e2e\/critap-walk$/);
  // StartContainer names only the container id: the name comes from its CreateContainer.
  assert.match(lines.find((l) => l.includes(' StartContainer '))!, /critap-e2e\/critap-walk sleeper +118\.718ms {2}OK$/);
  assert.match(lines.find((l) => l.includes(' ExecSync '))!, /OK +sh -c echo hi; echo \$GREETING >&2 timeout=10s$/);

  const verbose = await critap('show', SEED, '--method', 'ExecSync', '--verbose');
  assert.match(verbose, /^2026-11-27T00:49:21\.590157660Z {2}RuntimeService\/ExecSync {2}29\.554ms {2}OK\n/);
  assert.match(verbose, /"stdout": "hi\\n"/, 'bytes holding text shown as text');
  assert.match(verbose, /"stderr": "\*\*\*\*\*\\n"/, 'the redacted echo stays redacted');
  assert.match(verbose, /"exitCode": 0/, 'a zero the CRI means something by');
  assert.match(verbose, /user-agent: grpc-node-js\//);
  const status = await critap('show', SEED, '--method', 'PodSandboxStatus', '--verbose');
  assert.match(status, /"state": "SANDBOX_READY"/);
  assert.match(status, /"createdAt": "2026-11-27T00:49:21\.037019488Z"/);

  const json = JSON.parse((await critap('show', SEED, '--method', 'ExecSync', '--json')).trim()) as Record<string, any>;
  // --json stays the exact protobuf JSON mapping, with the client and the request metadata.
  assert.equal(json.response.stdout, Buffer.from('hi\n').toString('base64'));
  assert.deepEqual(json.client, { name: 'grpc-node-js' });
  assert.match(json.metadata['user-agent'], /^grpc-node-js\//);
});

test('stats takes show\'s filters: --pod, --method, --since, --until', async () => {
  const pod = JSON.parse(await critap('stats', SEED, '--pod', 'critap-walk', '--json')) as { methods: { method: string; calls: number }[]; matched: number; totals: { calls: number } };
  assert.equal(pod.matched, 12);
  assert.equal(pod.totals.calls, 18, 'the recorder counters stay the whole recording\'s');
  assert.ok(!pod.methods.some((m) => m.method.endsWith('/Version')));
  const window = JSON.parse(await critap('stats', SEED, '--since', '2026-11-27T00:49:21.5Z', '--until', '2026-11-27T00:49:21.6Z', '--method', 'ContainerStatus', '--json')) as { methods: { method: string; calls: number }[]; matched: number };
  assert.deepEqual(window.methods.map((m) => [m.method, m.calls]), [['/runtime.v1.RuntimeService/ContainerStatus', 1]]);
  const shown = (await critap('show', SEED, '--since', '2026-11-27T00:49:21.5Z', '--until', '2026-11-27T00:49:21.6Z')).trimEnd().split('\n');
  assert.deepEqual(shown.slice(1).map((l) => l.split(/\s+/)[2]), ['PodSandboxStatus', 'ContainerStatus', 'ExecSync']);
});

/** A real VersionRequest carrying `version`. */
function versionRequest(version: string): Buffer {
  const text = Buffer.from(version);
  return Buffer.concat([Buffer.from([0x0a, text.length]), text]);
}

test('show --follow prints calls as critap proxy --record stores them, and ends on SIGINT', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-follow-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const up = await startFakeUpstream({ unary: { '/runtime.v1.RuntimeService/Version': (call, cb) => cb(null, call.request) } });
  t.after(() => up.close());
  const recDir = join(root, 'rec');
  const proxy = await startCliProxy(['--listen', tempSocketPath('critap'), '--upstream', up.endpoint, '--record', recDir]);
  t.after(() => proxy.stop());
  const client = rawClient(proxy.endpoint);
  t.after(() => client.close());
  assert.equal((await unaryCall(client, '/runtime.v1.RuntimeService/Version', versionRequest('before-follow'))).error, undefined);

  const follow = spawn(process.execPath, [CRITAP_BIN, 'show', recDir, '--follow', '--method', 'Version'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => follow.once('exit', (code) => resolve(code)));
  t.after(() => follow.kill('SIGKILL'));
  let stderr = '';
  follow.stderr.on('data', (d) => (stderr += d));
  const seen: string[] = [];
  const waiters: { text: string; resolve: () => void }[] = [];
  createInterface({ input: follow.stdout }).on('line', (l) => {
    seen.push(l);
    for (const w of waiters.filter((w) => l.includes(w.text))) w.resolve();
  });
  const printed = (text: string) =>
    seen.some((l) => l.includes(text))
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          waiters.push({ text, resolve });
          setTimeout(() => reject(new Error(`follow did not print ${text} within 20 s; got ${JSON.stringify(seen)} ${stderr}`)), 20_000).unref();
        });
  await printed('version=before-follow');
  for (const v of ['live-1', 'live-2']) {
    assert.equal((await unaryCall(client, '/runtime.v1.RuntimeService/Version', versionRequest(v))).error, undefined);
    await printed(`version=${v}`);
  }
  follow.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
  const versions = seen.filter((l) => l.includes(' Version ')).map((l) => /version=(\S+)/.exec(l)?.[1]);
  assert.deepEqual(versions, ['before-follow', 'live-1', 'live-2'], 'each call once, in order');
});
