/**
 * The kubelet harness leaves nothing behind when its test process dies outright (SIGKILL: no
 * hook runs, only the watchdogs): no kubelet, no containers, none of its pod log folders or
 * links, no kubepods cgroups, no folder, no lock.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { binariesOrSkip } from '../support/binaries.js';
import { containerLogLinks, kubeletPids, kubepodsCgroups, podLogDirs } from '../support/kubelet-cleanup.js';
import { KUBELET_LOCK, acquireKubeletLock, lockOwner } from '../support/kubelet-lock.js';
import { instancePids } from '../support/runtime-cleanup.js';
import { realRuntimeOrSkip } from '../support/runtime.js';
import { staticPodFullName } from '../support/static-pod.js';

const CHILD = fileURLToPath(new URL('./kubelet-crash-child.js', import.meta.url));

test('a test process killed with SIGKILL while its kubelet runs a pod leaves nothing of the kubelet behind', { timeout: 180_000 }, async (t) => {
  if (!binariesOrSkip(t, 'kubelet')) return;
  // Only to learn whether this machine can run a runtime at all (skips or fails loudly as the others do).
  const probe = await realRuntimeOrSkip(t);
  if (!probe) return;
  await probe.stop();
  // Wait our turn before the child takes the lock, so its wait is not counted against it.
  (await acquireKubeletLock()).release();

  const child = spawn(process.execPath, [CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const made = await new Promise<{ kubeletDir: string; kubeletPid: number; runtimeDir: string; containers: number }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before its pod ran`)));
  });
  assert.equal(made.containers, 2, 'the pod ran both containers');
  assert.equal(lockOwner(), child.pid, 'the child held the kubelet lock');
  assert.ok(podLogDirs([staticPodFullName()]).length > 0, 'the pod had a /var/log/pods folder');
  assert.ok(kubepodsCgroups().length > 0, 'the kubelet made its kubepods cgroups');

  child.kill('SIGKILL');
  const leftovers = () => [
    ...(kubeletPids().includes(made.kubeletPid) ? [`kubelet pid ${made.kubeletPid}`] : []),
    ...instancePids(`${made.runtimeDir}/`).map((p) => `runtime process ${p}`),
    ...podLogDirs([staticPodFullName()]),
    ...containerLogLinks([staticPodFullName()]),
    ...kubepodsCgroups(),
    ...[made.kubeletDir, made.runtimeDir].filter((d) => existsSync(d)),
    ...(lockOwner() === child.pid ? [KUBELET_LOCK] : []),
  ];
  const until = Date.now() + 30_000;
  while (leftovers().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(leftovers(), []);
});
