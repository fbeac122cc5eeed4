/**
 * The CRI life cycles replay follows, as data: which entities a call names, which phase each
 * entity is in, and how a successful call moves it. Pure: shared by the reading of the recording
 * (what phase each recorded call saw) and by the client's own world (what phase it is in now).
 *
 *   sandbox:   ready → notready → removed          (RunPodSandbox, StopPodSandbox, RemovePodSandbox)
 *   container: created → running → exited → removed (CreateContainer, StartContainer, StopContainer, RemoveContainer)
 *   image:     absent → present → absent            (PullImage, RemoveImage)
 *
 * Stopping a sandbox stops its containers, removing it removes them: the runtime does that too.
 */
export type EntityKind = 'sandbox' | 'container' | 'image';
export type SandboxPhase = 'ready' | 'notready' | 'removed';
export type ContainerPhase = 'created' | 'running' | 'exited' | 'removed';
export type ImagePhase = 'absent' | 'present';
export type Phase = SandboxPhase | ContainerPhase | ImagePhase;

/** An entity a call is about, by the id the call uses (for images: the image id, sha256:…). */
export interface Named {
  kind: EntityKind;
  id: string;
}

/** What a successful call does to the entities it names (creations are handled by the caller: the id is in the answer). */
export const TRANSITIONS: Readonly<Record<string, { kind: EntityKind; to: Phase }>> = {
  StopPodSandbox: { kind: 'sandbox', to: 'notready' },
  RemovePodSandbox: { kind: 'sandbox', to: 'removed' },
  StartContainer: { kind: 'container', to: 'running' },
  StopContainer: { kind: 'container', to: 'exited' },
  RemoveContainer: { kind: 'container', to: 'removed' },
  RemoveImage: { kind: 'image', to: 'absent' },
};

/** Methods that make an entity; its id is in the answer. */
export const CREATIONS: Readonly<Record<string, { kind: EntityKind; field: string; phase: Phase }>> = {
  RunPodSandbox: { kind: 'sandbox', field: 'podSandboxId', phase: 'ready' },
  CreateContainer: { kind: 'container', field: 'containerId', phase: 'created' },
  PullImage: { kind: 'image', field: 'imageRef', phase: 'present' },
};

/** The phase a container moves to when its sandbox moves (stop stops, remove removes). */
export function containerPhaseAfterSandbox(sandboxTo: Phase, current: Phase): Phase {
  if (sandboxTo === 'removed') return 'removed';
  if (sandboxTo === 'notready' && (current === 'running' || current === 'created')) return 'exited';
  return current;
}

/** Phases as the CRI's state enums name them (list items and status answers). */
export const CONTAINER_STATE: Readonly<Record<string, string>> = {
  created: 'CONTAINER_CREATED',
  running: 'CONTAINER_RUNNING',
  exited: 'CONTAINER_EXITED',
};
export const SANDBOX_STATE: Readonly<Record<string, string>> = { ready: 'SANDBOX_READY', notready: 'SANDBOX_NOTREADY' };

export function phaseOfContainerState(state: unknown): ContainerPhase {
  if (state === 'CONTAINER_RUNNING') return 'running';
  if (state === 'CONTAINER_EXITED' || state === 'CONTAINER_UNKNOWN') return 'exited';
  // CONTAINER_CREATED is the enum's zero value: the JSON view leaves it out.
  return 'created';
}

export function phaseOfSandboxState(state: unknown): SandboxPhase {
  // SANDBOX_READY is the enum's zero value: the JSON view leaves it out.
  return state === 'SANDBOX_NOTREADY' ? 'notready' : 'ready';
}

/** The phase key a recorded call is filed under and a client call is looked up by: "container:running|sandbox:ready". */
export function phaseKey(phases: ReadonlyArray<{ kind: EntityKind; phase: Phase }>): string {
  if (phases.length === 0) return '';
  if (phases.length === 1) return `${phases[0]!.kind}:${phases[0]!.phase}`;
  return phases.map((p) => `${p.kind}:${p.phase}`).sort().join('|');
}

type Json = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The sandbox and container ids a request names (top-level fields; CreateContainer names its
 * sandbox). Lists and their filters are handled by the list builder, not here.
 */
export function namedIds(request: Json): { sandbox?: string; container?: string } {
  return { sandbox: str(request.podSandboxId), container: str(request.containerId) };
}

/** The image reference a request names (PullImage, ImageStatus, RemoveImage). */
export function namedImageRef(method: string, request: Json): string | undefined {
  if (method !== 'PullImage' && method !== 'ImageStatus' && method !== 'RemoveImage') return undefined;
  const spec = request.image;
  return typeof spec === 'object' && spec !== null ? str((spec as Json).image) : undefined;
}

/** Methods answered from the client's world rather than from one recorded answer. */
export const LIST_METHODS = new Set(['ListPodSandbox', 'ListContainers', 'ListImages', 'ListContainerStats', 'ListPodSandboxStats']);

/** The stats lists: their items carry no phase, and replay learns them only when asked for (RecordedWorld.item). */
export const STATS_LISTS: ReadonlySet<string> = new Set(['ListContainerStats', 'ListPodSandboxStats']);
