/**
 * The real-runtime harness itself: a private containerd answers CRI, pulls from the
 * htpasswd-protected registry with PullImage credentials, runs a pod and a container,
 * execs in it, survives a containerd restart, and leaves nothing behind on stop().
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { makeCriClient, type CriClient } from '../support/cri-client.js';
import { writeBusyboxImage } from '../support/image.js';
import { mountsUnder } from '../support/runtime-cleanup.js';
import { realRuntimeOrSkip, runtimePids } from '../support/runtime.js';

test('busybox docker-archive is deterministic and a valid tar with the applet symlinks', async (t) => {
  if (!existsSync('/bin/busybox')) {
    t.skip('no /bin/busybox (busybox-static not installed)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'critap-image-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = await writeBusyboxImage(dir, 'a.tar', { tag: 'x/y:1', cmd: ['sh'] });
  const b = await writeBusyboxImage(dir, 'b.tar', { tag: 'x/y:1', cmd: ['sh'] });
  assert.equal(a.configDigest, b.configDigest);
  assert.equal(execFileSync('sha256sum', [a.path]).toString().split(' ')[0], execFileSync('sha256sum', [b.path]).toString().split(' ')[0]);
  const layerHex = a.layerDiffId.slice('sha256:'.length);
  const outer = execFileSync('tar', ['-tf', a.path]).toString().split('\n');
  assert.ok(outer.includes('manifest.json'));
  assert.ok(outer.includes(`${layerHex}/layer.tar`));
  // The layer's sha256 must equal the diff_id written in the config, or importers reject it.
  execFileSync('tar', ['-xf', a.path, '-C', dir, `${layerHex}/layer.tar`]);
  const layerPath = join(dir, layerHex, 'layer.tar');
  assert.equal(`sha256:${execFileSync('sha256sum', [layerPath]).toString().split(' ')[0]}`, a.layerDiffId);
  const listing = execFileSync('tar', ['-tvf', layerPath]).toString();
  assert.match(listing, /bin\/sh -> busybox/);
  assert.match(listing, /bin\/sleep -> busybox/);
  assert.match(listing, /^-rwxr-xr-x root\/root\s+\d+ .* bin\/busybox$/m);
});

test('a private containerd answers CRI, pulls with credentials and runs a container', { timeout: 120_000 }, async (t) => {
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const cri = makeCriClient(rt.endpoint);
  t.after(() => cri.close());

  const version = await cri.runtime('Version', { version: 'v1' });
  assert.equal(version.runtime_name, 'containerd');
  assert.equal(version.runtime_api_version, 'v1');
  const status = await cri.runtime('Status', {});
  const ready = Object.fromEntries(status.status.conditions.map((c: { type: string; status: boolean }) => [c.type, c.status]));
  assert.deepEqual(ready, { RuntimeReady: true, NetworkReady: true });

  const sandboxImage = await cri.image('ImageStatus', { image: { image: rt.sandboxImage } });
  assert.ok(sandboxImage.image, `sandbox image ${rt.sandboxImage} is imported`);

  // containerd holds no credentials for the auth registry: without AuthConfig the pull must fail.
  await assert.rejects(cri.image('PullImage', { image: { image: rt.authRegistry.image } }), /401|unauthorized|authoriz/i);
  const { username, password } = rt.authRegistry;
  const pulled = await cri.image('PullImage', { image: { image: rt.authRegistry.image }, auth: { username, password } });
  assert.match(pulled.image_ref, /^sha256:[0-9a-f]{64}$/);

  const { podId, containerId } = await runSleeper(cri, rt.dir, rt.authRegistry.image);
  const exec = await cri.runtime('ExecSync', { container_id: containerId, cmd: ['echo', 'hi'], timeout: 10 });
  assert.equal(exec.exit_code, 0);
  assert.equal(exec.stdout.toString(), 'hi\n');
  const pod = await cri.runtime('PodSandboxStatus', { pod_sandbox_id: podId });
  assert.match(pod.status.network.ip, /^10\.88\.\d+\.\d+$/, 'pod got an address from this instance\'s CNI subnet');

  // Restarting containerd keeps the socket path and the running container.
  await rt.stopContainerd();
  await assert.rejects(cri.runtime('Version', {}, { timeoutMs: 2000 }));
  await rt.startContainerd();
  const again = makeCriClient(rt.endpoint);
  t.after(() => again.close());
  const after = await again.runtime('ContainerStatus', { container_id: containerId });
  assert.equal(after.status.state, 'CONTAINER_RUNNING');

  await again.runtime('StopContainer', { container_id: containerId, timeout: 0 });
  await again.runtime('RemoveContainer', { container_id: containerId });
  await again.runtime('StopPodSandbox', { pod_sandbox_id: podId });
  await again.runtime('RemovePodSandbox', { pod_sandbox_id: podId });
  const left = await again.runtime('ListPodSandbox', {});
  assert.equal(left.items.length, 0);

  await rt.stop();
  assert.deepEqual(runtimePids(rt), [], 'no containerd, shim, container or registry process survives stop()');
  assert.deepEqual(mountsUnder(rt.dir), [], 'nothing stays mounted under the instance folder');
  assert.equal(existsSync(rt.dir), false);
});

async function runSleeper(cri: CriClient, dir: string, image: string): Promise<{ podId: string; containerId: string }> {
  const podConfig = {
    metadata: { name: 'harness', uid: 'critap-harness-uid', namespace: 'critap', attempt: 0 },
    log_directory: join(dir, 'pod-logs'),
    linux: {},
  };
  const { pod_sandbox_id: podId } = await cri.runtime('RunPodSandbox', { config: podConfig });
  const { container_id: containerId } = await cri.runtime('CreateContainer', {
    pod_sandbox_id: podId,
    config: {
      metadata: { name: 'sleeper', attempt: 0 },
      image: { image },
      command: ['sleep', '3600'],
      log_path: 'sleeper.log',
      linux: {},
    },
    sandbox_config: podConfig,
  });
  await cri.runtime('StartContainer', { container_id: containerId });
  return { podId, containerId };
}
