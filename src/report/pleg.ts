/**
 * The kubelet's PLEG relist is an unfiltered ListPodSandbox followed at once by an unfiltered
 * ListContainers, about once a second (the caller passes only unfiltered ones). A relist here is one ListPodSandbox plus the ListContainers calls of the same
 * client that start before it ends plus a short grace; its duration runs from the first start
 * to the last end. The kubelet reports PLEG unhealthy when a relist has not completed for 3 min.
 */

export const PLEG_UNHEALTHY_MS = 180_000;
/** A ListContainers this long after its ListPodSandbox ended still belongs to the same relist. */
const JOIN_GRACE_MS = 50;
/** Above this many relists the chart shows time buckets (count and slowest of each) instead. */
export const MAX_RELIST_POINTS = 1500;
const BUCKETS = 600;

export interface Relist {
  client: string;
  /** ms from the report's first call. */
  atMs: number;
  durationMs: number;
  /** ms since the previous relist of the same client started (undefined for the first). */
  gapMs?: number;
  calls: number;
  failed: boolean;
}

export interface RelistBucket {
  fromMs: number;
  toMs: number;
  relists: number;
  maxDurationMs: number;
  meanDurationMs: number;
  maxGapMs: number;
  meanGapMs: number;
  slow: number;
}

export interface PlegView {
  relists: number;
  thresholdMs: number;
  slow: number;
  maxDurationMs: number;
  maxGapMs: number;
  /** Every relist, or undefined when there were too many and `buckets` holds them. */
  points?: Relist[];
  buckets?: RelistBucket[];
}

export class RelistTracker {
  private readonly open = new Map<string, Relist & { endMs: number }>();
  private readonly lastStart = new Map<string, number>();
  private readonly done: Relist[] = [];

  constructor(private readonly thresholdMs: number) {}

  add(shortName: string, client: string, atMs: number, durationMs: number, failed: boolean): void {
    if (shortName === 'ListPodSandbox') {
      this.finish(client);
      const prev = this.lastStart.get(client);
      this.lastStart.set(client, atMs);
      const r: Relist & { endMs: number } = { client, atMs, durationMs, calls: 1, failed, endMs: atMs + durationMs };
      if (prev !== undefined) r.gapMs = round(atMs - prev);
      this.open.set(client, r);
      return;
    }
    if (shortName !== 'ListContainers') return;
    const r = this.open.get(client);
    if (!r || atMs > r.endMs + JOIN_GRACE_MS) return;
    r.endMs = Math.max(r.endMs, atMs + durationMs);
    r.durationMs = round(r.endMs - r.atMs);
    r.calls++;
    r.failed ||= failed;
  }

  private finish(client: string): void {
    const r = this.open.get(client);
    if (!r) return;
    this.open.delete(client);
    const { endMs: _end, ...relist } = r;
    relist.durationMs = round(relist.durationMs);
    this.done.push(relist);
  }

  result(): PlegView {
    for (const c of [...this.open.keys()]) this.finish(c);
    const all = this.done.sort((a, b) => a.atMs - b.atMs);
    const slowOf = (r: Relist) => r.durationMs > this.thresholdMs || (r.gapMs ?? 0) > PLEG_UNHEALTHY_MS;
    const view: PlegView = {
      relists: all.length,
      thresholdMs: this.thresholdMs,
      slow: all.filter(slowOf).length,
      maxDurationMs: Math.max(0, ...all.map((r) => r.durationMs)),
      maxGapMs: Math.max(0, ...all.map((r) => r.gapMs ?? 0)),
    };
    if (all.length <= MAX_RELIST_POINTS) {
      view.points = all;
      return view;
    }
    const from = all[0]!.atMs;
    const width = Math.max(1e-3, (all[all.length - 1]!.atMs - from) / BUCKETS);
    const buckets: RelistBucket[] = [];
    const sums: { d: number; g: number; gn: number }[] = [];
    for (const r of all) {
      const i = Math.min(BUCKETS - 1, Math.floor((r.atMs - from) / width));
      let b = buckets[i];
      if (!b) {
        buckets[i] = b = { fromMs: round(from + i * width), toMs: round(from + (i + 1) * width), relists: 0, maxDurationMs: 0, meanDurationMs: 0, maxGapMs: 0, meanGapMs: 0, slow: 0 };
        sums[i] = { d: 0, g: 0, gn: 0 };
      }
      const sum = sums[i]!;
      sum.d += r.durationMs;
      if (r.gapMs !== undefined) {
        sum.g += r.gapMs;
        sum.gn++;
      }
      b.relists++;
      b.meanDurationMs = round(sum.d / b.relists);
      b.meanGapMs = sum.gn > 0 ? round(sum.g / sum.gn) : 0;
      b.maxDurationMs = Math.max(b.maxDurationMs, r.durationMs);
      b.maxGapMs = Math.max(b.maxGapMs, r.gapMs ?? 0);
      if (slowOf(r)) b.slow++;
    }
    view.buckets = buckets.filter((b) => b !== undefined);
    return view;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
