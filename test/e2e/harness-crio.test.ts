/**
 * The CRI-O harness itself: a private CRI-O answers CRI, pulls from the htpasswd-protected registry
 * only with PullImage credentials, refuses a short image name at once (no Docker Hub), runs a pod
 * (infra oom_score_adj -998 fitted by the runc wrapper) and a privileged container (capabilities
 * fitted), execs in it, and leaves nothing behind: on stop() with the pod still running, and when
 * the test process is killed outright (the watchdog).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { binariesOrSkip } from '../support/binaries.js';
import { makeCriClient } from '../support/cri-client.js';
import { crioRuntimeOrSkip } from '../support/crio.js';
import { instancePids, mountsUnder } from '../support/runtime-cleanup.js';
import { runPrivilegedSleeper } from '../support/sleeper-pod.js';

/** Everything an instance could leave behind, for the assertions after it is gone. */
function leftovers(dir: string, bridge: string, ids: string[]): string[] {
  const left: string[] = [];
  const pids = instancePids(`${dir}/`);
  if (pids.length) left.push(`processes ${pids.join(', ')}`);
  const mounts = mountsUnder(dir);
  if (mounts.length) left.push(`mounts ${mounts.join(', ')}`);
  if (existsSync(dir)) left.push(`folder ${dir}`);
  if (existsSync(`/sys/class/net/${bridge}`)) left.push(`bridge ${bridge}`);
  for (const h of readdirSync('/sys/fs/cgroup')) {
    for (const parent of [join('/sys/fs/cgroup', h), join('/sys/fs/cgroup', h, 'crio')]) {
      for (const id of ids) for (const n of [`crio-${id}`, `crio-conmon-${id}`]) if (existsSync(join(parent, n))) left.push(`cgroup ${join(parent, n)}`);
    }
  }
  return left;
}

test('a private CRI-O answers CRI, pulls with credentials only, runs a privileged container, and stop() leaves nothing', { timeout: 120_000 }, async (t) => {
  const rt = await crioRuntimeOrSkip(t);
  if (!rt) return;
  const cri = makeCriClient(rt.endpoint);
  t.after(() => cri.close());

  const version = await cri.runtime('Version', { version: 'v1' });
  assert.equal(version.runtime_name, 'cri-o');
  assert.equal(version.runtime_version, '1.26.4');
  const status = await cri.runtime('Status', {});
  const ready = Object.fromEntries(status.status.conditions.map((c: { type: string; status: boolean }) => [c.type, c.status]));
  assert.deepEqual(ready, { RuntimeReady: true, NetworkReady: true });

  await assert.rejects(cri.image('PullImage', { image: { image: rt.authRegistry.image } }), /401|unauthorized|authenticat/i);
  const { username, password } = rt.authRegistry;
  const pulled = await cri.image('PullImage', { image: { image: rt.authRegistry.image }, auth: { username, password } });
  assert.match(pulled.image_ref, /[0-9a-f]{64}/);
  // registries.conf has no search registries: a short name fails here and never reaches Docker Hub.
  await assert.rejects(cri.image('PullImage', { image: { image: 'busybox:1' } }, { timeoutMs: 10_000 }), /short.name|unqualified|search registries/i);

  const { podId, containerId } = await runPrivilegedSleeper(cri, rt.dir, rt.authRegistry.image);
  const exec = await cri.runtime('ExecSync', { container_id: containerId, cmd: ['sh', '-c', 'echo hi; cat /proc/self/oom_score_adj'], timeout: 10 });
  assert.equal(exec.exit_code, 0, exec.stderr.toString());
  assert.equal(exec.stdout.toString(), 'hi\n0\n');
  const pod = await cri.runtime('PodSandboxStatus', { pod_sandbox_id: podId });
  assert.equal(pod.status.state, 'SANDBOX_READY');
  assert.match(pod.status.network.ip, /^10\.88\.\d+\.\d+$/, 'the pod got an address from this instance\'s CNI subnet');

  // Tag an image in the store under another name, as critest needs (registry.k8s.io/... names).
  await rt.tagImage(rt.authRegistry.image, 'registry.k8s.io/critap/tagged:1');
  const tagged = await cri.image('ImageStatus', { image: { image: 'registry.k8s.io/critap/tagged:1' } });
  assert.ok(tagged.image, 'the tagged name is in CRI-O\'s store');

  // Stop with the pod and container still running: the cleanup must take them down.
  const { bridge } = JSON.parse(readFileSync(join(rt.dir, 'instance.json'), 'utf8')) as { bridge: string };
  assert.ok(existsSync(`/sys/class/net/${bridge}`), 'the pod network made this instance\'s bridge');
  await rt.stop();
  assert.deepEqual(leftovers(rt.dir, bridge, [podId, containerId]), []);
});

const CHILD = `
import { startCrioRuntime } from ${JSON.stringify(fileURLToPath(new URL('../support/crio.js', import.meta.url)))};
import { makeCriClient } from ${JSON.stringify(fileURLToPath(new URL('../support/cri-client.js', import.meta.url)))};
import { runPrivilegedSleeper } from ${JSON.stringify(fileURLToPath(new URL('../support/sleeper-pod.js', import.meta.url)))};
import { readFileSync } from 'node:fs';
const rt = await startCrioRuntime({ crio: process.argv[1], pinns: process.argv[2] });
const cri = makeCriClient(rt.endpoint);
await cri.image('PullImage', { image: { image: rt.registry.image } });
const ids = await runPrivilegedSleeper(cri, rt.dir, rt.registry.image);
const bridge = JSON.parse(readFileSync(rt.dir + '/instance.json', 'utf8')).bridge;
console.log(JSON.stringify({ dir: rt.dir, bridge, ...ids }));
setInterval(() => {}, 1000);
`;

test('a test process killed with SIGKILL leaves no CRI-O, conmon, container, mount, bridge or cgroup behind', { timeout: 120_000 }, async (t) => {
  const bins = binariesOrSkip(t, 'crio', 'pinns');
  if (!bins) return;
  if (process.getuid?.() !== 0) {
    if (process.env.CI === 'true') throw new Error('critap: CRI-O tests need root in CI');
    t.skip('not root');
    return;
  }
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, bins.crio, bins.pinns], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const started = await new Promise<{ dir: string; bridge: string; podId: string; containerId: string }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`the child exited with ${code} before running its pod`)));
  });
  assert.ok(instancePids(`${started.dir}/`).length >= 3, 'crio, conmon and the containers run');
  child.kill('SIGKILL');
  const until = Date.now() + 30_000;
  let left: string[] = [];
  while (Date.now() < until) {
    left = leftovers(started.dir, started.bridge, [started.podId, started.containerId]);
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(left, [], 'the watchdog cleaned up');
});
