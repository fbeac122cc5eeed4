import type { CallRecord } from '../call.js';
import { compareMethodPaths } from '../cri/method-order.js';
import { lookupMethod } from '../cri/methods.js';

/**
 * A watch (a server stream such as GetContainerEvents) ends when its client cancels it: that is
 * how it is meant to end, not a failure. Deadlines and resets from the runtime still count.
 */
export function endedByClientOnPurpose(call: CallRecord): boolean {
  return call.end === 'client-reset' && call.status.code === 1 && lookupMethod(call.method)?.serverStreaming === true;
}

/** Per-method figures for `critap stats`. Pure: feed it calls, read the table. */
export interface MethodStats {
  method: string;
  calls: number;
  /** Calls that did not end with status OK after trailers (streams their client cancelled aside). */
  errors: number;
  /** Streams their client cancelled, the way watches end. */
  cancelled: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  bytesIn: number;
  bytesOut: number;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export class StatsCollector {
  private readonly byMethod = new Map<string, { durations: number[]; errors: number; cancelled: number; bytesIn: number; bytesOut: number }>();

  add(call: CallRecord): void {
    let s = this.byMethod.get(call.method);
    if (!s) this.byMethod.set(call.method, (s = { durations: [], errors: 0, cancelled: 0, bytesIn: 0, bytesOut: 0 }));
    s.durations.push(call.durationNs / 1e6);
    if (endedByClientOnPurpose(call)) s.cancelled++;
    else if (call.status.code !== 0 || call.end !== 'trailers') s.errors++;
    s.bytesIn += call.requestBytes;
    s.bytesOut += call.responseBytes;
  }

  /** Methods sorted by call count, busiest first. */
  result(): MethodStats[] {
    const out: MethodStats[] = [];
    for (const [method, s] of this.byMethod) {
      const d = s.durations.sort((a, b) => a - b);
      const r3 = (x: number) => Math.round(x * 1000) / 1000;
      out.push({
        method,
        calls: d.length,
        errors: s.errors,
        cancelled: s.cancelled,
        p50Ms: r3(percentile(d, 50)),
        p90Ms: r3(percentile(d, 90)),
        p99Ms: r3(percentile(d, 99)),
        maxMs: r3(d[d.length - 1] ?? 0),
        bytesIn: s.bytesIn,
        bytesOut: s.bytesOut,
      });
    }
    return out.sort((a, b) => b.calls - a.calls || compareMethodPaths(a.method, b.method));
  }
}
