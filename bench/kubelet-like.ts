/**
 * A kubelet-like recording made in memory, of any size: pods come and go (20 alive at a time),
 * each with two containers through their whole life, while the kubelet relists (ListPodSandbox,
 * ListContainers) and polls statuses and an exec probe once per tick, as a real one does about
 * once a second. What the replay benchmark serves: the calls a kubelet makes, in its proportions.
 */
import { createHash } from 'node:crypto';
import type { CallRecord } from '../src/call.js';
import { recordedRuntimeCall } from './fixtures.js';

const ALIVE = 20;
const TICKS_PER_POD = 40;

const id = (s: string) => createHash('sha256').update(s).digest('hex');

const call = (method: string, request: Record<string, unknown>, response: Record<string, unknown>, t: number): CallRecord =>
  recordedRuntimeCall(method, request, response, BigInt(t) * 1_000_000n, 200_000);

interface Pod {
  n: number;
  sandbox: string;
  containers: string[];
  ticks: number;
}

/** At least `total` calls of kubelet-like traffic, in recorded order. */
export function kubeletLikeCalls(total: number): CallRecord[] {
  const out: CallRecord[] = [];
  const alive: Pod[] = [];
  let n = 0;
  let t = 0;
  const podConfig = (p: number) => ({
    metadata: { name: `web-${p}`, uid: id(`uid-${p}`).slice(0, 36), namespace: 'bench' },
    labels: { 'io.kubernetes.pod.name': `web-${p}`, 'io.kubernetes.pod.uid': id(`uid-${p}`).slice(0, 36) },
    logDirectory: `/var/log/pods/bench_web-${p}`,
  });
  const start = () => {
    const p = n++;
    const sandbox = id(`sandbox-${p}`);
    out.push(call('RunPodSandbox', { config: podConfig(p) }, { podSandboxId: sandbox }, t++));
    const containers = ['httpd', 'sleeper'].map((name) => {
      const c = id(`container-${p}-${name}`);
      out.push(call('CreateContainer', { podSandboxId: sandbox, config: { metadata: { name }, image: { image: 'registry.local/busybox:1' } }, sandboxConfig: podConfig(p) }, { containerId: c }, t++));
      out.push(call('StartContainer', { containerId: c }, {}, t++));
      return c;
    });
    alive.push({ n: p, sandbox, containers, ticks: 0 });
  };
  const stop = (pod: Pod) => {
    for (const c of pod.containers) out.push(call('StopContainer', { containerId: c, timeout: '30' }, {}, t++));
    out.push(call('StopPodSandbox', { podSandboxId: pod.sandbox }, {}, t++));
    for (const c of pod.containers) out.push(call('RemoveContainer', { containerId: c }, {}, t++));
    out.push(call('RemovePodSandbox', { podSandboxId: pod.sandbox }, {}, t++));
  };
  while (out.length < total) {
    while (alive.length < ALIVE) start();
    out.push(call('ListPodSandbox', {}, { items: alive.map((p) => ({ id: p.sandbox, metadata: podConfig(p.n).metadata, labels: podConfig(p.n).labels, createdAt: '1' })) }, t++));
    out.push(call('ListContainers', {}, {
      containers: alive.flatMap((p) => p.containers.map((c, i) => ({ id: c, podSandboxId: p.sandbox, metadata: { name: i === 0 ? 'httpd' : 'sleeper' }, image: { image: 'registry.local/busybox:1' }, imageRef: 'sha256:' + id('img'), state: 'CONTAINER_RUNNING', createdAt: '1' }))),
    }, t++));
    for (const pod of alive) {
      for (const [i, c] of pod.containers.entries()) {
        out.push(call('ContainerStatus', { containerId: c }, { status: { id: c, metadata: { name: i === 0 ? 'httpd' : 'sleeper' }, state: 'CONTAINER_RUNNING', image: { image: 'registry.local/busybox:1' }, imageRef: 'sha256:' + id('img') } }, t++));
      }
      out.push(call('ExecSync', { containerId: pod.containers[1]!, cmd: ['true'], timeout: '1' }, {}, t++));
      pod.ticks++;
    }
    for (const pod of alive.filter((p) => p.ticks >= TICKS_PER_POD)) {
      stop(pod);
      alive.splice(alive.indexOf(pod), 1);
    }
  }
  return out;
}
