/**
 * Answers for the calls every runtime answers, when the recording has none of them: a client
 * that polls Version, Status or ImageFsInfo, reopens a log or sets the runtime config must not
 * fail because the recorded session never asked. Each answer is derived from the recording where
 * it can be (the recorded runtime's name, the recorded images' sizes) and is reported as
 * `synthesized`. Pure.
 */
import { VERSION } from '../../version.js';
import type { RecordedWorld } from './recorded.js';
import type { ClientEntity, ClientWorld } from './world.js';
import { clientValues, entityEcho } from './lists.js';
import { applyEcho } from '../echo.js';

type Json = Record<string, unknown>;

export interface RuntimeIdentity {
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

/** Where each runtime keeps its image layers: what ImageFsInfo names as the mount point. */
const IMAGE_FS: Readonly<Record<string, string>> = {
  containerd: '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs',
  'cri-o': '/var/lib/containers/storage/overlay-images',
};

function nowNs(): string {
  return (BigInt(Date.now()) * 1_000_000n).toString();
}

export interface HousekeepingContext {
  recorded: RecordedWorld;
  world: ClientWorld;
  /** From the recorded Version answer, when there is one. */
  identity?: RuntimeIdentity;
  /** The entity the call names, when it names one the client knows. */
  entity?: ClientEntity;
  /** The image id the call names, when the recording or the client knows the reference. */
  image?: string;
}

/** Methods answered here (when the recording has no call of them), with what they need. */
const NEEDS_CONTAINER = new Set(['ReopenContainerLog', 'ContainerStats', 'UpdateContainerResources']);
const NEEDS_SANDBOX = new Set(['PodSandboxStats']);

/**
 * The synthesized answer, or undefined when this method is not one every runtime answers. Stops
 * and removals of known entities are answered too (the client's world follows them).
 */
export function housekeepingAnswer(method: string, ctx: HousekeepingContext): Json | undefined {
  if (NEEDS_CONTAINER.has(method) && ctx.entity?.kind !== 'container') return undefined;
  if (NEEDS_SANDBOX.has(method) && ctx.entity?.kind !== 'sandbox') return undefined;
  switch (method) {
    case 'Version': {
      const id = ctx.identity ?? { runtimeName: 'critap-replay', runtimeVersion: VERSION, runtimeApiVersion: 'v1' };
      return { version: '0.1.0', ...id };
    }
    case 'Status':
      return { status: { conditions: [{ type: 'RuntimeReady', status: true }, { type: 'NetworkReady', status: true }] } };
    case 'ImageFsInfo': {
      let used = 0n;
      const present = ctx.world.presentImages();
      for (const id of present) {
        const size = ctx.recorded.item('ListImages', id)?.size;
        if (typeof size === 'string' && /^\d+$/.test(size)) used += BigInt(size);
      }
      const mountpoint = IMAGE_FS[ctx.identity?.runtimeName ?? 'containerd'] ?? IMAGE_FS.containerd!;
      return {
        imageFilesystems: [{ timestamp: nowNs(), fsId: { mountpoint }, usedBytes: { value: used.toString() }, inodesUsed: { value: String(present.length) } }],
      };
    }
    case 'ImageStatus': {
      // An image the client's world holds is described as the recording listed it; any other is not there (an empty answer).
      const id = ctx.image && ctx.world.phaseOfImage(ctx.image) === 'present' ? ctx.image : undefined;
      const item = id ? ctx.recorded.item('ListImages', id) : undefined;
      return item ? { image: structuredClone(item) } : {};
    }
    case 'ReopenContainerLog':
    case 'UpdateRuntimeConfig':
    case 'UpdateContainerResources':
      return {};
    // The end of a life the recording did not see (a kubelet stops a pod, its GC removes it later):
    // the runtime answers these with an empty message, and the client's world moves on.
    case 'StopContainer':
    case 'RemoveContainer':
      return ctx.entity?.kind === 'container' ? {} : undefined;
    case 'StopPodSandbox':
    case 'RemovePodSandbox':
      return ctx.entity?.kind === 'sandbox' ? {} : undefined;
    case 'RemoveImage':
      return ctx.image ? {} : undefined;
    case 'ContainerStats': {
      const e = ctx.entity!;
      const listed = ctx.recorded.item('ListContainerStats', e.template);
      const stats: Json = listed ? structuredClone(listed) : { attributes: { id: e.template }, cpu: { timestamp: nowNs() }, memory: { timestamp: nowNs() } };
      const attributes = (stats.attributes ??= {}) as Json;
      clientValues(attributes, e);
      return { stats: applyEcho(stats, entityEcho(e, ctx.world, ctx.recorded)).value };
    }
    case 'PodSandboxStats': {
      const e = ctx.entity!;
      const listed = ctx.recorded.item('ListPodSandboxStats', e.template);
      const stats: Json = listed ? structuredClone(listed) : { attributes: { id: e.template }, linux: { cpu: { timestamp: nowNs() }, memory: { timestamp: nowNs() } } };
      const attributes = (stats.attributes ??= {}) as Json;
      clientValues(attributes, e);
      return { stats: applyEcho(stats, entityEcho(e, ctx.world, ctx.recorded)).value };
    }
    default:
      return undefined;
  }
}

/** Calls the CRI makes idempotent: on something gone (or never there) they succeed, with an empty answer, as containerd does. */
export const IDEMPOTENT_ON_GONE = new Set(['RemoveContainer', 'RemovePodSandbox', 'RemoveImage']);

/** The runtime's NotFound text for an id: the recording's own shape when it has one, else containerd's. */
export function notFoundMessage(method: string, kind: 'sandbox' | 'container', id: string, recorded: RecordedWorld): string {
  const shape = recorded.notFound.get(method) ?? [...recorded.notFound.values()].find((n) => kind === 'container' ? /container/i.test(n.message) : /sandbox|pod/i.test(n.message));
  if (shape) return shape.message.split(shape.id).join(id);
  return `an error occurred when try to find ${kind} "${id}": not found`;
}
