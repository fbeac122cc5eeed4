/**
 * Calls of two recordings lined up by life cycle, not by id: each call gets a key naming the
 * object it is about as the workload names it (pod namespace/name, container name, image) and
 * its turn among that object's calls of the same method — "pod critap-e2e/critap-walk ·
 * container sleeper · StartContainer #1". The same workload gives the same keys on any runtime.
 */
import type { StoredCall } from '../record/stored-call.js';
import { maskString } from './mask.js';

export interface KeyedCall {
  key: string;
  call: StoredCall;
}

export class LifeCycleKeys {
  private readonly pods = new Map<string, string>();
  private readonly containers = new Map<string, string>();
  private readonly seenLabels = new Map<string, number>();
  private readonly turns = new Map<string, number>();
  /** Every sandbox/container id seen, with the placeholder the diff shows instead. */
  readonly ids = new Map<string, string>();

  key(call: StoredCall): string {
    const ids = call.ids;
    const method = call.method.slice(call.method.lastIndexOf('/') + 1);
    let object = 'node';
    if (ids.podSandboxId || ids.podName) {
      object = ids.podSandboxId ? this.podLabel(ids.podSandboxId, ids) : `pod ${ids.podNamespace ?? ''}/${ids.podName}`;
    }
    if (ids.containerId) object = this.containerLabel(ids.containerId, ids, object);
    else if (object === 'node' && ids.image) object = `image ${maskString(ids.image)}`;
    const base = `${object} · ${method}`;
    const turn = (this.turns.get(base) ?? 0) + 1;
    this.turns.set(base, turn);
    return `${base} #${turn}`;
  }

  private podLabel(sandboxId: string, ids: StoredCall['ids']): string {
    let label = this.pods.get(sandboxId);
    if (!label) {
      label = this.unique(`pod ${ids.podNamespace ?? ''}/${ids.podName ?? '?'}`);
      this.pods.set(sandboxId, label);
      this.ids.set(sandboxId, `<${label}>`);
    }
    return label;
  }

  private containerLabel(containerId: string, ids: StoredCall['ids'], pod: string): string {
    let label = this.containers.get(containerId);
    if (!label) {
      label = this.unique(`${pod === 'node' ? '' : `${pod} · `}container ${ids.containerName ?? '?'}`);
      this.containers.set(containerId, label);
      this.ids.set(containerId, `<${label}>`);
    }
    return label;
  }

  /** A second pod or container of the same name (a restart, a new attempt) is told apart by its turn. */
  private unique(label: string): string {
    const n = (this.seenLabels.get(label) ?? 0) + 1;
    this.seenLabels.set(label, n);
    return n === 1 ? label : `${label} (${n})`;
  }
}
