/**
 * A long recording of a busy node's kubelet, written with the library's writer: `pods` pods of
 * two containers each, the PLEG's relist (ListPodSandbox, ListContainers) once a second and the
 * stats poll (ListContainerStats) every `statsEvery` seconds, with labels and annotations the
 * size a kubelet sets. Every `restartEvery` seconds one container restarts (its list item
 * changes), so the relist answers repeat between changes, as a real node's do, and the stats
 * answers never repeat. What replay must load quickly and hold in little memory.
 */
import { createHash } from 'node:crypto';
import type { CallRecord } from '../src/call.js';
import { createRecording } from '../src/record/writer.js';
import { recordedRuntimeCall } from './fixtures.js';

export interface BigNodeShape {
  /** Seconds recorded: one relist each. */
  seconds: number;
  pods: number;
  statsEvery: number;
  restartEvery: number;
}

/** An hour of a 150-pod node (7 560 calls, about 1 GB of answers, 11 MB recorded: the relists repeat). */
export const HOUR_OF_BIG_NODE: BigNodeShape = { seconds: 3600, pods: 150, statsEvery: 10, restartEvery: 300 };

const SEC = 1_000_000_000n;
const T0 = 1_790_000_000n * SEC;

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

const call = (method: string, response: Record<string, unknown>, second: number): CallRecord =>
  recordedRuntimeCall(method, {}, response, T0 + BigInt(second) * SEC, 2_000_000);

interface Pod {
  sandbox: string;
  uid: string;
  name: string;
  containers: Array<{ id: string; name: string; attempt: number }>;
}

/** The calls, second by second, in recorded order. */
export function* bigNodeCalls(shape: BigNodeShape): Generator<CallRecord> {
  const pods: Pod[] = Array.from({ length: shape.pods }, (_, p) => ({
    sandbox: hex(`sandbox-${p}`),
    uid: hex(`uid-${p}`).slice(0, 36),
    name: `app-${p}-${hex(`name-${p}`).slice(0, 5)}`,
    containers: ['main', 'sidecar'].map((name) => ({ id: hex(`container-${p}-${name}-0`), name, attempt: 0 })),
  }));
  const labels = (p: Pod) => ({
    'io.kubernetes.pod.name': p.name,
    'io.kubernetes.pod.namespace': 'prod',
    'io.kubernetes.pod.uid': p.uid,
    app: p.name.split('-')[0]!,
    'pod-template-hash': hex(p.name).slice(0, 10),
  });
  const created = '1790000000000000000';
  for (let s = 0; s < shape.seconds; s++) {
    if (s > 0 && s % shape.restartEvery === 0) {
      // One container restarts: a new id and attempt, so the relist answers change from here on.
      const p = pods[(s / shape.restartEvery) % pods.length]!;
      const c = p.containers[0]!;
      c.attempt++;
      c.id = hex(`container-${p.name}-${c.name}-${c.attempt}`);
    }
    yield call('ListPodSandbox', {
      items: pods.map((p) => ({
        id: p.sandbox, metadata: { name: p.name, uid: p.uid, namespace: 'prod', attempt: 0 }, state: 'SANDBOX_READY', createdAt: created, labels: labels(p),
        annotations: { 'kubernetes.io/config.seen': '2026-12-01T10:00:00Z', 'kubernetes.io/config.source': 'api' },
      })),
    }, s);
    yield call('ListContainers', {
      containers: pods.flatMap((p) => p.containers.map((c) => ({
        id: c.id, podSandboxId: p.sandbox, metadata: { name: c.name, attempt: c.attempt }, image: { image: `sha256:${hex(`image-${c.name}`)}` },
        imageRef: `127.0.0.1:5000/app@sha256:${hex(`image-${c.name}`)}`, state: 'CONTAINER_RUNNING', createdAt: created,
        labels: { ...labels(p), 'io.kubernetes.container.name': c.name },
        annotations: { 'io.kubernetes.container.hash': hex(c.id).slice(0, 8), 'io.kubernetes.container.restartCount': String(c.attempt), 'io.kubernetes.container.terminationMessagePath': '/dev/termination-log' },
      }))),
    }, s);
    if (s % shape.statsEvery === 0) {
      const at = String(T0 + BigInt(s) * SEC);
      yield call('ListContainerStats', {
        stats: pods.flatMap((p, pi) => p.containers.map((c, ci) => ({
          attributes: { id: c.id, metadata: { name: c.name, attempt: c.attempt }, labels: { ...labels(p), 'io.kubernetes.container.name': c.name } },
          cpu: { timestamp: at, usageCoreNanoSeconds: { value: String(s * 1_000_003 + pi * 7 + ci) } },
          memory: { timestamp: at, workingSetBytes: { value: String(10_000_000 + s * 13 + pi) } },
        }))),
      }, s);
    }
  }
}

/** Writes the recording; returns how many calls it holds. */
export async function writeBigNodeRecording(dir: string, shape: BigNodeShape): Promise<number> {
  const writer = await createRecording(dir);
  let batch: CallRecord[] = [];
  let n = 0;
  try {
    for (const c of bigNodeCalls(shape)) {
      batch.push(c);
      n++;
      if (batch.length >= 200) {
        await writer.append(...batch);
        batch = [];
      }
    }
    if (batch.length > 0) await writer.append(...batch);
  } finally {
    await writer.close();
  }
  return n;
}
