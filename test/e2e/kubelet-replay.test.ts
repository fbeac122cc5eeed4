/**
 * A real kubelet (../shared/bin/kubelet, standalone, THE static pod: busybox httpd + busybox sleep
 * with an exec readiness probe) against `critap replay` of recordings/kubelet-static-pod — a
 * recording of that kubelet and pod — with no runtime anywhere. A recording `critap proxy` in
 * front of the replay shows what the kubelet asked and got. Over 60 s the pod is started once and
 * never stopped or restarted, its probe passes; once the manifest is gone the kubelet stops the
 * pod through the replay; nothing misses.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { openRecording } from '../../src/record/index.js';
import { replay } from '../../src/replay/index.js';
import { binariesOrSkip } from '../support/binaries.js';
import { startCliProxy } from '../support/cli-proxy.js';
import { tempSocketPath } from '../support/fake-upstream.js';
import { startKubelet, type KubeletPod } from '../support/kubelet.js';
import { recordedStaticPodImage } from '../support/kubelet-recording.js';
import { repoRoot } from '../support/paths.js';
import { STATIC_POD, staticPodFullName, staticPodManifest } from '../support/static-pod.js';

const RUN_MS = 60_000;
const SANDBOX_IMAGE = 'critap.local/pause:1';

/** Calls per method (bare names) of a recording, with each call's start. */
async function callsOf(dir: string): Promise<Map<string, bigint[]>> {
  const out = new Map<string, bigint[]>();
  const rec = await openRecording(dir);
  try {
    for await (const c of rec.calls()) {
      const name = c.method.slice(c.method.lastIndexOf('/') + 1);
      out.set(name, [...(out.get(name) ?? []), c.startNs]);
    }
  } finally {
    await rec.close();
  }
  return out;
}

const count = (calls: Map<string, bigint[]>, name: string) => calls.get(name)?.length ?? 0;

function ready(p: KubeletPod | undefined): boolean {
  return Boolean(
    p &&
      p.status?.phase === 'Running' &&
      (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') &&
      (p.status.containerStatuses ?? []).length === 2 &&
      (p.status.containerStatuses ?? []).every((c) => c.ready && c.state?.['running'] !== undefined),
  );
}

test('a real kubelet against a replay of its own recording: started once, never restarted, probe passes, stopped through the replay, 0 misses', { timeout: 300_000 }, async (t) => {
  const bins = binariesOrSkip(t, 'kubelet');
  if (!bins) return;
  const recording = join(repoRoot(), 'recordings', 'kubelet-static-pod');
  const image = await recordedStaticPodImage(recording);
  const root = await mkdtemp(join(tmpdir(), 'critap-kubelet-replay-'));
  t.after(() => rm(root, { recursive: true, force: true }));

  const runtime = await replay({ recording });
  t.after(() => runtime.close());
  const seen = join(root, 'seen');
  const proxy = await startCliProxy(['--listen', tempSocketPath('critap'), '--upstream', runtime.endpoint, '--record', seen, '--no-peer-lookup']);
  t.after(() => proxy.stop('SIGKILL'));
  const kubelet = await startKubelet({ binary: bins.kubelet, endpoint: proxy.endpoint, cleanupEndpoint: runtime.endpoint, nodeName: STATIC_POD.nodeName, podInfraImage: SANDBOX_IMAGE, verbosity: 2 });
  t.after(() => kubelet.stop());

  const fullName = staticPodFullName(STATIC_POD.nodeName);
  const mine = async () => (await kubelet.pods()).find((p) => p.metadata.name === fullName);
  const written = Date.now();
  await kubelet.writeStaticPod(STATIC_POD.name, staticPodManifest(image));
  await kubelet.waitFor(`pod ${fullName} Ready (both containers running, the exec probe passed)`, async () => (ready(await mine()) ? true : undefined), 60_000);

  // The pod keeps running: Ready the whole time, while the kubelet relists the replay about once a second.
  let notReady = 0;
  while (Date.now() - written < RUN_MS) {
    if (!ready(await mine())) notReady++;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const pod = await mine();
  assert.ok(ready(pod), `still Ready after ${RUN_MS / 1000} s: ${JSON.stringify(pod?.status)}`);
  assert.equal(notReady, 0, 'the pod never left Ready');
  const during = await callsOf(seen);
  const life = Object.fromEntries(['RunPodSandbox', 'CreateContainer', 'StartContainer', 'StopContainer', 'StopPodSandbox'].map((m) => [m, count(during, m)]));
  assert.deepEqual(life, { RunPodSandbox: 1, CreateContainer: 2, StartContainer: 2, StopContainer: 0, StopPodSandbox: 0 }, 'started once, never stopped or restarted');
  assert.ok(count(during, 'ListContainers') >= 30, `the kubelet relisted (${count(during, 'ListContainers')} ListContainers)`);
  assert.ok(count(during, 'ExecSync') >= 5, `the probe ran (${count(during, 'ExecSync')} ExecSync)`);

  // The manifest goes: the kubelet stops the pod through the replay.
  const removedNs = BigInt(Date.now()) * 1_000_000n;
  await kubelet.removeStaticPod(STATIC_POD.name);
  const after = await kubelet.waitFor('StopPodSandbox through the replay', async () => {
    const calls = await callsOf(seen);
    return count(calls, 'StopPodSandbox') > 0 ? calls : undefined;
  }, 60_000);
  assert.equal(count(after, 'StopContainer'), 2, 'both containers stopped');
  for (const m of ['StopContainer', 'StopPodSandbox']) for (const at of after.get(m) ?? []) assert.ok(at > removedNs, `${m} only after the manifest was deleted`);
  assert.equal(count(after, 'RunPodSandbox'), 1);
  assert.equal(count(after, 'CreateContainer'), 2);

  await kubelet.stop();
  await proxy.stop();
  assert.deepEqual(runtime.misses.map((m) => `${m.method}: ${m.message}`), [], 'no call missed');
  const counts = runtime.counts();
  t.diagnostic(`replay answers: ${JSON.stringify(counts)}`);
  t.diagnostic(`kubelet calls: ${JSON.stringify(Object.fromEntries([...after].map(([k, v]) => [k, v.length])))}`);
});
