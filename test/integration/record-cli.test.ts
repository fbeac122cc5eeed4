import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRecording } from '../../src/record/writer.js';
import { createContainer, makeCall, pullImage, runPodSandbox, startContainer, T0, V1, versionCall } from '../unit/record-fixtures.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));
const CHILD = fileURLToPath(new URL('./record-writer-child.js', import.meta.url));

async function critap(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('ls, show, stats on a recording, as a user runs them', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-cli-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'recs', 'node-a');
  const w = await createRecording(dir);
  await w.append(
    versionCall(T0),
    pullImage(T0 + 1_000_000n),
    runPodSandbox('sb-1', T0 + 2_000_000n),
    createContainer('sb-1', 'ctr-1', T0 + 3_000_000n),
    startContainer('ctr-1', T0 + 4_000_000n),
    makeCall({ method: V1 + 'StopContainer', request: { containerId: 'ctr-9' }, code: 5, startNs: T0 + 5_000_000n }),
    makeCall({ method: V1 + 'GetContainerEvents', responses: [{ containerId: 'ctr-1' }, { containerId: 'ctr-2' }], startNs: T0 + 6_000_000n }),
  );
  await w.close();

  const ls = await critap('ls', root);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, new RegExp(`${dir}\\s+7\\s+\\S+\\s+2026-09-21T14:13:20Z\\s+6ms\\s+`));

  const show = await critap('show', dir, '--pod', 'nginx', '--verbose');
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^2026-09-21T14:13:20\.125456789Z {2}RuntimeService\/RunPodSandbox {2}0\.412ms {2}OK\n/);
  assert.match(show.stdout, /"podSandboxId": "sb-1"/);
  assert.doesNotMatch(show.stdout, /PullImage|Version/);

  const json = await critap('show', dir, '--json', '--since', '2026-09-21T14:13:20.128Z');
  assert.equal(json.code, 0, json.stderr);
  const calls = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(calls.map((c) => c.method.split('/').pop()), ['StopContainer', 'GetContainerEvents']);
  assert.deepEqual(calls[0].status, { code: 5, codeName: 'NOT_FOUND', message: 'something failed' });
  assert.equal(calls[0].start, '2026-09-21T14:13:20.128456789Z');
  assert.deepEqual(calls[1].messages.map((m: { message: { containerId: string } }) => m.message.containerId), ['ctr-1', 'ctr-2']);
  assert.deepEqual(calls[1].peer, { pid: 4242, exe: '/usr/bin/kubelet' });

  const stats = await critap('stats', dir, '--json');
  assert.equal(stats.code, 0, stats.stderr);
  const s = JSON.parse(stats.stdout);
  assert.equal(s.methods.length, 7);
  assert.equal(s.methods.find((m: { method: string }) => m.method.endsWith('StopContainer')).errors, 1);
  assert.deepEqual(s.totals, { calls: 7, recorded: 7, dropped: 0, redacted: 2, evicted: 0 }); // PullImage auth, CreateContainer env
  const table = await critap('stats', dir);
  assert.match(table.stdout, /^METHOD\s+CALLS\s+ERRORS\s+P50\s+P90\s+P99\s+MAX\s+IN\s+OUT\n/);

  const head = await new Promise<number>((resolve) => {
    // A reader that goes away early (`| head -1`) ends show quietly.
    const p = spawn(process.execPath, [BIN, 'show', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.once('data', () => p.stdout.destroy());
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      assert.equal(err, '');
      resolve(code ?? -1);
    });
  });
  assert.equal(head, 0);
});

test('help, usage errors and broken folders get clear messages and exit codes', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-cli-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  for (const cmd of ['ls', 'show', 'stats', 'export', 'import', 'report', 'diff']) {
    const h = await critap(cmd, '--help');
    assert.equal(h.code, 0);
    assert.match(h.stdout, new RegExp(`^Usage: critap ${cmd}`));
    assert.match(h.stdout, new RegExp(`Examples:\\n {2}critap ${cmd}[ \\n]`));
  }
  const usage = await critap('show');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /critap show: wants exactly one recording folder/);
  const since = await critap('show', root, '--since', 'soon');
  assert.equal(since.code, 2);
  assert.match(since.stderr, /--since wants a duration/);
  const plain = join(root, 'plain');
  await mkdir(plain);
  await writeFile(join(plain, 'x'), 'x');
  const notRec = await critap('stats', plain);
  assert.equal(notRec.code, 1);
  assert.equal(notRec.stderr, `critap stats: ${plain} is not a critap recording (no critap-recording.json)\n`);
});

test('a recording being written can be read meanwhile, from a snapshot that leaves the writer alone', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-cli-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'live');
  const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let handed = -1;
  let closed = -1;
  createInterface({ input: child.stdout }).on('line', (l) => {
    const m = /^(handed|closed) (\d+)$/.exec(l);
    if (m?.[1] === 'handed') handed = Number(m[2]);
    if (m?.[1] === 'closed') closed = Number(m[2]);
  });
  while (handed < 40) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300)); // past the recorder's flush guarantee
  const show = await critap('show', dir, '--json');
  assert.equal(show.code, 0, show.stderr);
  const seen = show.stdout.trim().split('\n').length;
  assert.ok(seen >= 40, `the snapshot holds the calls flushed so far (saw ${seen})`);
  const ls = await critap('ls', root);
  assert.equal(ls.code, 0, ls.stderr);
  // The writer was not disturbed: it keeps recording and closes with every call stored.
  child.kill('SIGTERM');
  while (closed < 0) await new Promise((r) => setTimeout(r, 20));
  const after = await critap('show', dir, '--json');
  assert.equal(after.stdout.trim().split('\n').length, closed);
  assert.ok(closed > seen);
});
