/**
 * Remembers which pod a sandbox or container belongs to, so that calls naming
 * only an id (StartContainer, ContainerStatus, StopPodSandbox, …) still get
 * the pod's name, namespace and uid on their span.
 *
 * The kubelet learns these facts once (RunPodSandbox and CreateContainer carry
 * the pod metadata and answer with the new id); everything after refers to the
 * id alone. Both maps are LRU-bounded: a node runs at most a few hundred pods,
 * and a stale entry only costs a missing label, never a wrong one.
 */

import type { CallIds } from '../cri/ids.js';

/** The ids critap puts on a span: what `extractIds` in src/cri/ids.ts returns. */
export type PodIds = CallIds;

interface PodFacts {
  podName?: string;
  podNamespace?: string;
  podUid?: string;
}

interface ContainerFacts extends PodFacts {
  podSandboxId?: string;
  containerName?: string;
  image?: string;
}

/** A Map used as an LRU: reading an entry moves it to the back, the front is evicted. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }

  get size(): number {
    return this.map.size;
  }
}

export interface PodLinkerOptions {
  maxSandboxes?: number;
  maxContainers?: number;
}

export class PodLinker {
  private readonly sandboxes: Lru<PodFacts>;
  private readonly containers: Lru<ContainerFacts>;

  constructor(opts: PodLinkerOptions = {}) {
    this.sandboxes = new Lru(opts.maxSandboxes ?? 2048);
    this.containers = new Lru(opts.maxContainers ?? 8192);
  }

  /**
   * Learns what `ids` reveal and returns them completed with what was learnt
   * before. Facts present in `ids` win over remembered ones: the call itself is
   * the fresher witness. Ids naming no container or sandbox come back as they are (the same
   * object), the rest as a new one.
   */
  link(ids: PodIds): PodIds {
    // Nothing to complete and nothing to learn (Version, Status, image calls): the ids as they are.
    if (!ids.containerId && !ids.podSandboxId) return ids;
    const out: PodIds = { ...ids };
    if (out.containerId) {
      const known = this.containers.get(out.containerId);
      if (known) fillMissing(out, known);
    }
    if (out.podSandboxId) {
      const known = this.sandboxes.get(out.podSandboxId);
      if (known) fillMissing(out, known);
    }
    this.learn(out);
    return out;
  }

  get sizes(): { sandboxes: number; containers: number } {
    return { sandboxes: this.sandboxes.size, containers: this.containers.size };
  }

  private learn(ids: PodIds): void {
    const pod = podFacts(ids);
    if (ids.podSandboxId && pod) {
      this.sandboxes.set(ids.podSandboxId, { ...this.sandboxes.get(ids.podSandboxId), ...pod });
    }
    if (ids.containerId) {
      const facts: ContainerFacts = { ...pod };
      if (ids.podSandboxId) facts.podSandboxId = ids.podSandboxId;
      if (ids.containerName) facts.containerName = ids.containerName;
      if (ids.image) facts.image = ids.image;
      if (Object.keys(facts).length > 0) {
        this.containers.set(ids.containerId, { ...this.containers.get(ids.containerId), ...facts });
      }
    }
  }
}

function podFacts(ids: PodIds): PodFacts | undefined {
  if (!ids.podName && !ids.podNamespace && !ids.podUid) return undefined;
  const f: PodFacts = {};
  if (ids.podName) f.podName = ids.podName;
  if (ids.podNamespace) f.podNamespace = ids.podNamespace;
  if (ids.podUid) f.podUid = ids.podUid;
  return f;
}

function fillMissing(target: PodIds, from: ContainerFacts): void {
  for (const key of ['podSandboxId', 'podName', 'podNamespace', 'podUid', 'containerName', 'image'] as const) {
    if (!target[key] && from[key]) target[key] = from[key];
  }
}
