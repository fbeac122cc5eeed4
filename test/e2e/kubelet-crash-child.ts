/**
 * For kubelet-harness.test.ts: starts a private containerd and a standalone kubelet running THE
 * static pod, prints what it made as one JSON line once the pod is Ready, then waits to be killed.
 */
import { findBinary } from '../support/binaries.js';
import { makeCriClient } from '../support/cri-client.js';
import { startKubelet } from '../support/kubelet.js';
import { startRealRuntime } from '../support/runtime.js';
import { STATIC_POD, staticPodFullName, staticPodManifest } from '../support/static-pod.js';

const found = findBinary('kubelet');
if (!('path' in found)) throw new Error(found.missing);
const rt = await startRealRuntime();
const kubelet = await startKubelet({ binary: found.path, endpoint: rt.endpoint, nodeName: STATIC_POD.nodeName, podInfraImage: rt.sandboxImage });
await kubelet.writeStaticPod(STATIC_POD.name, staticPodManifest(rt.registry.image));
await kubelet.waitFor('the pod running', async () => {
  const pod = (await kubelet.pods()).find((p) => p.metadata.name === staticPodFullName());
  return pod?.status?.phase === 'Running' ? pod : undefined;
}, 60_000);
const cri = makeCriClient(rt.endpoint);
const { containers = [] } = await cri.runtime('ListContainers', {});
cri.close();
process.stdout.write(`${JSON.stringify({ kubeletDir: kubelet.dir, kubeletPid: kubelet.pid, runtimeDir: rt.dir, containers: containers.length })}\n`);
setInterval(() => undefined, 60_000);
