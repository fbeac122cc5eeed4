/**
 * THE static pod's life on a running kubelet, as the kubelet tests and the kubelet recording
 * drive it: write the manifest, wait until the kubelet reports the pod Ready (both containers
 * started, the exec readiness probe passed), GET its httpd on the pod IP, optionally keep it
 * running, delete the manifest and wait until the runtime itself says the sandbox stopped.
 */
import { request } from 'node:http';
import type { CriClient } from './cri-client.js';
import type { KubeletPod, RunningKubelet } from './kubelet.js';
import { STATIC_POD, staticPodFullName, staticPodManifest } from './static-pod.js';

export interface PodLife {
  podIP: string;
  /** What GET http://<pod IP>:<port>/ answered. */
  httpStatus: number;
  httpBody: string;
  /** The kubelet's view of the pod once Ready. */
  readyPod: KubeletPod;
  /** Milliseconds from writing the manifest to Ready, and from deleting it to the sandbox stopped. */
  readyMs: number;
  stopMs: number;
}

export interface PodLifeOptions {
  kubelet: RunningKubelet;
  /** The busybox image by full registry reference. */
  image: string;
  /** A client straight to the runtime (not through critap: the recording should hold only the kubelet's calls). */
  runtime: CriClient;
  /** Keep the pod running this long once it answered. */
  holdMs?: number;
  timeoutMs?: number;
}

export function httpGet(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end();
  });
}

const isReady = (p: KubeletPod): boolean =>
  p.status?.phase === 'Running' &&
  (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') &&
  (p.status.containerStatuses ?? []).length === 2 &&
  (p.status.containerStatuses ?? []).every((c) => c.ready && c.state?.['running'] !== undefined);

export async function runStaticPodLife(o: PodLifeOptions): Promise<PodLife> {
  const { kubelet } = o;
  const timeoutMs = o.timeoutMs ?? 60_000;
  const fullName = staticPodFullName(kubelet.nodeName);
  const written = Date.now();
  await kubelet.writeStaticPod(STATIC_POD.name, staticPodManifest(o.image));
  const readyPod = await kubelet.waitFor(`pod ${fullName} Ready`, async () => (await kubelet.pods()).find((p) => p.metadata.name === fullName && isReady(p)), timeoutMs);
  const readyMs = Date.now() - written;
  const podIP = String((readyPod.status as { podIP?: string }).podIP ?? '');
  if (!podIP) throw new Error(`critap: the kubelet reports ${fullName} Ready without a pod IP`);
  // httpd may take a moment after its container counts as running.
  const answer = await kubelet.waitFor(`httpd on ${podIP}:${STATIC_POD.httpPort}`, () => httpGet(`http://${podIP}:${STATIC_POD.httpPort}/`, 2000), 15_000);
  if (o.holdMs) await new Promise((r) => setTimeout(r, o.holdMs));
  const removed = Date.now();
  await kubelet.removeStaticPod(STATIC_POD.name);
  await kubelet.waitFor(`the runtime's sandbox of ${fullName} stopped`, async () => {
    const { items = [] } = await o.runtime.runtime('ListPodSandbox', {}, { timeoutMs: 5000 });
    const mine = (items as { metadata?: { name?: string }; state?: string }[]).filter((p) => p.metadata?.name === fullName);
    return mine.length > 0 && mine.every((p) => p.state === 'SANDBOX_NOTREADY') ? true : undefined;
  }, timeoutMs);
  return { podIP, httpStatus: answer.status, httpBody: answer.body, readyPod, readyMs, stopMs: Date.now() - removed };
}
