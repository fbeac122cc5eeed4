/**
 * Pod lanes for the timeline: one per sandbox, with a row per container. A call belongs to a
 * sandbox when it names it (ids.podSandboxId) or names a container created in it; calls that name
 * only a pod uid (PullImage with its sandbox config) join that pod's latest sandbox.
 */
import type { CallIds } from '../cri/ids.js';

/** A call drawn as a bar; `call` is its number in the report (the key of its details). */
export interface Bar {
  call: number;
  method: string;
  atMs: number;
  durationMs: number;
  /** Status name when not OK. */
  error?: string;
}

export interface ContainerRow {
  id: string;
  name?: string;
  bars: Bar[];
}

export interface PodLane {
  sandboxId: string;
  name?: string;
  namespace?: string;
  uid?: string;
  bars: Bar[];
  containers: ContainerRow[];
  calls: number;
  errors: number;
  /** Bars left out of a busy lane (status polls beyond the cap); life-cycle calls are always kept. */
  omitted: number;
  firstMs: number;
  lastMs: number;
  /** RunPodSandbox's start to the end of the last StartContainer that succeeded. */
  readyMs?: number;
  runAtMs?: number;
}

/** Calls that make or end a pod's or container's life: never left out of a lane. */
const LIFE_CYCLE = new Set([
  'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer',
]);

export class PodTracker {
  readonly lanes: PodLane[] = [];
  private readonly bySandbox = new Map<string, PodLane>();
  private readonly sandboxOfContainer = new Map<string, string>();
  private readonly latestByUid = new Map<string, PodLane>();
  /** Pods beyond maxLanes are counted, not drawn. */
  droppedPods = 0;

  constructor(private readonly maxLanes: number, private readonly maxBarsPerLane: number) {}

  /** The lane the call belongs to, after adding its bar (undefined: a call of no pod). */
  add(ids: CallIds, bar: Bar): PodLane | undefined {
    const containerId = ids.containerId;
    let sandboxId = ids.podSandboxId ?? (containerId ? this.sandboxOfContainer.get(containerId) : undefined);
    if (sandboxId && containerId && !this.sandboxOfContainer.has(containerId)) this.sandboxOfContainer.set(containerId, sandboxId);
    let lane = sandboxId ? this.bySandbox.get(sandboxId) : undefined;
    if (!lane && !sandboxId && ids.podUid) lane = this.latestByUid.get(ids.podUid);
    if (!lane && sandboxId) lane = this.newLane(sandboxId, bar.atMs);
    if (!lane) return undefined;
    sandboxId = lane.sandboxId;
    lane.name ??= ids.podName;
    lane.namespace ??= ids.podNamespace;
    if (!lane.uid && ids.podUid) {
      lane.uid = ids.podUid;
      this.latestByUid.set(ids.podUid, lane);
    }
    if (lane.sandboxId === '') return undefined;
    lane.calls++;
    if (bar.error) lane.errors++;
    lane.lastMs = Math.max(lane.lastMs, bar.atMs + bar.durationMs);
    if (bar.method === 'RunPodSandbox' && lane.runAtMs === undefined) lane.runAtMs = bar.atMs;
    if (bar.method === 'StartContainer' && !bar.error && lane.runAtMs !== undefined) lane.readyMs = round(bar.atMs + bar.durationMs - lane.runAtMs);
    const keep = LIFE_CYCLE.has(bar.method) || lane.calls - lane.omitted <= this.maxBarsPerLane;
    if (!keep) {
      lane.omitted++;
      return lane;
    }
    const row = containerId ? this.row(lane, containerId, ids.containerName) : undefined;
    (row ? row.bars : lane.bars).push(bar);
    return lane;
  }

  private newLane(sandboxId: string, atMs: number): PodLane | undefined {
    if (this.lanes.length >= this.maxLanes) {
      this.droppedPods++;
      // Remember it so its later calls do not count it again.
      const ghost: PodLane = { sandboxId: '', bars: [], containers: [], calls: 0, errors: 0, omitted: 0, firstMs: atMs, lastMs: atMs };
      this.bySandbox.set(sandboxId, ghost);
      return ghost;
    }
    const lane: PodLane = { sandboxId, bars: [], containers: [], calls: 0, errors: 0, omitted: 0, firstMs: atMs, lastMs: atMs };
    this.bySandbox.set(sandboxId, lane);
    this.lanes.push(lane);
    return lane;
  }

  private row(lane: PodLane, id: string, name: string | undefined): ContainerRow {
    let row = lane.containers.find((c) => c.id === id);
    if (!row) lane.containers.push((row = { id, bars: [] }));
    row.name ??= name;
    return row;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
