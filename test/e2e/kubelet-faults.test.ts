/**
 * The real standalone kubelet through `critap proxy --fault` in front of a real containerd:
 * RunPodSandbox fails twice with UNAVAILABLE (the kubelet retries and the pod comes up), and
 * StartContainer of the static pod is delayed 5 s while the kubelet's ListPodSandbox relists on
 * the same connection keep being answered during the delay.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'node:test';
import { openRecording } from '../../src/record/index.js';
import type { StoredCall } from '../../src/record/stored-call.js';
import { binariesOrSkip } from '../support/binaries.js';
import { startCliProxy } from '../support/cli-proxy.js';
import { makeCriClient } from '../support/cri-client.js';
import { tempSocketPath } from '../support/fake-upstream.js';
import { startKubelet } from '../support/kubelet.js';
import { realRuntimeOrSkip } from '../support/runtime.js';
import { STATIC_POD, staticPodFullName } from '../support/static-pod.js';
import { runStaticPodLife } from '../support/static-pod-life.js';

const methodOf = (c: StoredCall) => c.method.split('/').pop()!;

test('the kubelet through critap proxy --fault: retries an UNAVAILABLE RunPodSandbox, relists during a delayed StartContainer', { timeout: 240_000 }, async (t) => {
  const bins = binariesOrSkip(t, 'kubelet');
  if (!bins) return;
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const root = await mkdtemp(join(tmpdir(), 'critap-kubelet-faults-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const recDir = join(root, 'rec');
  const listen = tempSocketPath('critap-kubelet-faults');
  t.after(() => rm(dirname(listen), { recursive: true, force: true }));
  const pod = staticPodFullName();
  const proxy = await startCliProxy([
    '--listen', listen, '--upstream', rt.endpoint, '--record', recDir,
    '--fault', 'method=RunPodSandbox,error=UNAVAILABLE,message=critap: injected, try again,count=2',
    '--fault', `method=StartContainer,pod=${pod},namespace=${STATIC_POD.namespace},container=${STATIC_POD.httpdContainer},delay=5s`,
  ]);
  t.after(() => proxy.stop('SIGKILL'));
  const runtime = makeCriClient(rt.endpoint);
  t.after(() => runtime.close());
  const kubelet = await startKubelet({ binary: bins.kubelet, endpoint: proxy.endpoint, cleanupEndpoint: rt.endpoint, nodeName: STATIC_POD.nodeName, podInfraImage: rt.sandboxImage });
  t.after(() => kubelet.stop());
  const life = await runStaticPodLife({ kubelet, image: rt.registry.image, runtime, timeoutMs: 150_000 });
  await kubelet.stop();
  assert.equal(life.httpStatus, 200, 'the pod came up and serves');
  assert.equal(await proxy.stop('SIGTERM'), 0);

  const rec = await openRecording(recDir);
  const calls: StoredCall[] = [];
  try {
    for await (const c of rec.calls()) calls.push(c);
  } finally {
    await rec.close();
  }
  const runs = calls.filter((c) => methodOf(c) === 'RunPodSandbox');
  assert.deepEqual(runs.slice(0, 3).map((c) => [c.status.code, c.fault?.ruleId]), [[14, 1], [14, 1], [0, undefined]], 'two injected failures, then the kubelet\'s retry worked');
  const delayed = calls.filter((c) => methodOf(c) === 'StartContainer' && c.fault?.ruleId === 2);
  assert.equal(delayed.length, 1, 'the httpd StartContainer was delayed, the sleeper one was not');
  const d = delayed[0]!;
  assert.equal(d.status.code, 0);
  assert.ok(d.durationNs >= 5e9, 'StartContainer took the 5 s delay');
  const start = d.startNs;
  const end = d.startNs + BigInt(Math.round(d.durationNs));
  const during = calls.filter((c) => methodOf(c) === 'ListPodSandbox' && c.startNs > start && c.startNs + BigInt(Math.round(c.durationNs)) < end);
  assert.ok(during.length >= 1, 'the kubelet\'s relists were answered while StartContainer was held');
  t.diagnostic(`ready ${life.readyMs} ms; ${runs.length} RunPodSandbox calls; ${during.length} ListPodSandbox answered during the delay, slowest ${Math.max(...during.map((c) => c.durationNs)) / 1e6} ms`);
});
