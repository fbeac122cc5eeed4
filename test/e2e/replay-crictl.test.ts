/**
 * crictl v1.26 (the real binary) against `critap replay` of the shipped recordings, no runtime
 * anywhere: the state follows crictl's own calls (after `stop`, `inspect` and `ps -a` say EXITED
 * although crictl skipped the RUNNING inspect that the recording has; after `rm`, `ps -a` lists
 * nothing), ids are the runtime's (an unknown id is NotFound, a short id resolves), and crictl's
 * usual look-around commands work.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test, { type TestContext } from 'node:test';
import { replay } from '../../src/replay/index.js';
import { binariesOrSkip } from '../support/binaries.js';
import { repoRoot } from '../support/paths.js';

const run = promisify(execFile);

/** crictl pointed at one endpoint; resolves with its output and exit code (never throws). */
function crictlAt(bin: string, endpoint: string, configFile: string) {
  return async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(bin, ['--config', configFile, '--runtime-endpoint', endpoint, '--image-endpoint', endpoint, '--timeout', '10s', ...args]);
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
}

async function setup(t: TestContext, recording: string) {
  const bins = binariesOrSkip(t, 'crictl');
  if (!bins) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'critap-replay-crictl-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const runtime = await replay({ recording: join(repoRoot(), 'recordings', recording) });
  t.after(() => runtime.close());
  const configFile = join(dir, 'crictl.yaml');
  await writeFile(configFile, `runtime-endpoint: ${runtime.endpoint}\nimage-endpoint: ${runtime.endpoint}\ntimeout: 10\n`);
  return { dir, runtime, crictl: crictlAt(bins.crictl, runtime.endpoint, configFile) };
}

function ok(r: { code: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.code, 0, `crictl ${what} failed: ${r.stderr}`);
  return r.stdout;
}

test('crictl against a replay: stop, inspect, ps -a and rm follow crictl; unknown ids NotFound; short ids resolve', { timeout: 60_000 }, async (t) => {
  const s = await setup(t, 'seed-walkthrough');
  if (!s) return;
  const { dir, runtime, crictl } = s;
  // The pod and container the recording made, as crictl is given them (the recorded request's values).
  const pod = join(dir, 'pod.json');
  const ctr = join(dir, 'ctr.json');
  await writeFile(pod, JSON.stringify({ metadata: { name: 'critap-walk', uid: 'critap-walk-uid', namespace: 'critap-e2e' }, log_directory: '/tmp/critap-walk-a92kq4/pod-logs', labels: { app: 'critap-walk' }, linux: {} }));
  await writeFile(ctr, JSON.stringify({ metadata: { name: 'sleeper' }, image: { image: '127.0.0.1:35789/critap/busybox:1' }, command: ['sleep', '3600'], log_path: 'sleeper.log', linux: {} }));

  assert.equal(ok(await crictl('ps', '-a', '-q'), 'ps -a').trim(), '', 'nothing runs before crictl makes it');
  const podId = ok(await crictl('runp', pod), 'runp').trim();
  const cid = ok(await crictl('create', podId, ctr, pod), 'create').trim();
  assert.match(cid, /^[0-9a-f]{64}$/);
  ok(await crictl('start', cid), 'start');
  // The recording inspected the container while it ran; crictl skips that and stops it first.
  ok(await crictl('stop', cid.slice(0, 12)), 'stop (short id)');
  const inspected = JSON.parse(ok(await crictl('inspect', '-o', 'json', cid.slice(0, 8)), 'inspect (short id)'));
  assert.equal(inspected.status.id, cid, 'the short id resolves to the full one');
  assert.equal(inspected.status.state, 'CONTAINER_EXITED');
  const ps = JSON.parse(ok(await crictl('ps', '-a', '-o', 'json'), 'ps -a'));
  assert.deepEqual(ps.containers.map((c: { id: string; state: string }) => [c.id, c.state]), [[cid, 'CONTAINER_EXITED']]);
  assert.equal(ok(await crictl('ps', '-q'), 'ps').trim(), '', 'no running container');

  const unknown = await crictl('inspect', 'deadbeef');
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /code = NotFound desc = an error occurred when try to find container \\?"deadbeef\\?": not found/);

  ok(await crictl('rm', cid), 'rm');
  assert.equal(ok(await crictl('ps', '-a', '-q'), 'ps -a after rm').trim(), '');
  assert.notEqual((await crictl('inspect', cid)).code, 0, 'a removed container is NotFound');
  ok(await crictl('stopp', podId), 'stopp');
  const pods = JSON.parse(ok(await crictl('pods', '-o', 'json'), 'pods'));
  assert.deepEqual(pods.items.map((p: { id: string; state: string }) => [p.id, p.state]), [[podId, 'SANDBOX_NOTREADY']]);
  ok(await crictl('rmp', podId), 'rmp');
  assert.equal(ok(await crictl('pods', '-q'), 'pods after rmp').trim(), '');
  assert.deepEqual(runtime.misses, []);
});

for (const recording of ['seed-walkthrough', 'container-events-synthetic', 'kubelet-static-pod']) {
  test(`crictl's usual commands work on the shipped ${recording}`, { timeout: 60_000 }, async (t) => {
    const s = await setup(t, recording);
    if (!s) return;
    const { runtime, crictl } = s;
    ok(await crictl('version'), 'version');
    ok(await crictl('info'), 'info');
    ok(await crictl('ps', '-a'), 'ps -a');
    ok(await crictl('pods'), 'pods');
    const images = ok(await crictl('images'), 'images');
    const fs = JSON.parse(ok(await crictl('imagefsinfo', '-o', 'json'), 'imagefsinfo'));
    assert.ok(fs.status.fsId.mountpoint, 'imagefsinfo names a mount point');
    if (recording === 'seed-walkthrough') {
      assert.match(images, /critap\.local\/pause/, 'the image that was there before the recording began');
      const image = JSON.parse(ok(await crictl('inspecti', '-o', 'json', 'critap.local/pause:1'), 'inspecti'));
      assert.match(image.status.id, /^sha256:/);
    }
    assert.deepEqual(runtime.misses, []);
  });
}
