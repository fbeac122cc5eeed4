/**
 * Fault injection seen by the real crictl v1.26 through `critap proxy` (the CLI, in a child) in
 * front of a real containerd: an injected RunPodSandbox error reaches crictl with its code and
 * message while no pod reaches containerd; a delayed Version still succeeds, late; rules added
 * and cleared through --admin on the running proxy.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'node:test';
import { binariesOrSkip } from '../support/binaries.js';
import { CRITAP_BIN, startCliProxy } from '../support/cli-proxy.js';
import { makeCrictl, writeWalkConfigs } from '../support/crictl.js';
import { realRuntimeOrSkip } from '../support/runtime.js';

const run = promisify(execFile);

test('crictl through critap proxy --fault: runp fails with the injected status, version is delayed, rules change live', { timeout: 180_000 }, async (t) => {
  const bins = binariesOrSkip(t, 'crictl');
  if (!bins) return;
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const dir = await mkdtemp(join(tmpdir(), 'critap-fault-crictl-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const listen = join(dir, 'critap.sock');
  const admin = join(dir, 'admin.sock');
  const proxy = await startCliProxy([
    '--listen', listen, '--upstream', rt.endpoint, '--admin', admin, '--no-peer-lookup',
    '--fault', 'method=RunPodSandbox,error=UNAVAILABLE,message=critap e2e: runtime is restarting',
    '--fault', 'method=Version,delay=1500ms',
  ]);
  t.after(() => proxy.stop());
  const through = await makeCrictl(bins.crictl, `unix://${listen}`, join(dir, 'through'));
  const direct = await makeCrictl(bins.crictl, rt.endpoint, join(dir, 'direct'));
  const files = await writeWalkConfigs({ image: rt.registry.image, workDir: join(dir, 'walk'), podName: 'critap-fault-pod' });

  const runp = await through.run(['runp', files.pod]);
  assert.notEqual(runp.code, 0, 'runp must fail');
  assert.match(runp.stderr, /code = Unavailable desc = critap e2e: runtime is restarting/);
  const pods = await direct.run(['pods', '-o', 'json']);
  assert.equal(pods.code, 0, pods.stderr);
  assert.deepEqual((JSON.parse(pods.stdout) as { items: unknown[] }).items, [], 'no pod reached containerd');

  const t0 = performance.now();
  const version = await through.run(['version']);
  const took = performance.now() - t0;
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /RuntimeName:\s+containerd/);
  assert.ok(took >= 1500, `crictl version answered after ${took.toFixed(0)} ms, before the 1.5 s delay`);

  const fault = (...args: string[]) => run(process.execPath, [CRITAP_BIN, 'fault', ...args, '--admin', admin]);
  await fault('add', 'method=ListPodSandbox,error=INTERNAL,message=injected through the admin socket');
  const listed = await through.run(['pods']);
  assert.notEqual(listed.code, 0);
  assert.match(listed.stderr, /code = Internal desc = injected through the admin socket/);
  const rules = JSON.parse((await fault('list', '--json')).stdout) as Array<{ rule: string; fired: number }>;
  // crictl v1.26 asks Version before every command (to pick the CRI API version), so the delay
  // fired for runp and pods too, and twice for `crictl version` itself.
  assert.deepEqual(rules.map((r) => [r.rule, r.rule.startsWith('method=Version') ? r.fired >= 3 : r.fired]), [
    ['method=RunPodSandbox,error=UNAVAILABLE,message=critap e2e: runtime is restarting', 1],
    ['method=Version,delay=1500ms', true],
    ['method=ListPodSandbox,error=INTERNAL,message=injected through the admin socket', 1],
  ]);
  await fault('clear');
  const after = await through.run(['pods', '-o', 'json']);
  assert.equal(after.code, 0, after.stderr);
  assert.equal(await proxy.stop(), 0);
});
