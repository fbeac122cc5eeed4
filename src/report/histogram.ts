/**
 * Latency histograms with fixed, roughly logarithmic edges: every method shares them, so two
 * methods' bars line up and a 100 000-call recording costs 17 counters per method, not a list.
 */

/** Upper edges in ms; a call lands in the first bucket whose edge is >= its duration, the last bucket is open. */
export const HISTOGRAM_EDGES_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

export function bucketOf(durationMs: number): number {
  for (let i = 0; i < HISTOGRAM_EDGES_MS.length; i++) if (durationMs <= HISTOGRAM_EDGES_MS[i]!) return i;
  return HISTOGRAM_EDGES_MS.length;
}

export function emptyHistogram(): number[] {
  return new Array<number>(HISTOGRAM_EDGES_MS.length + 1).fill(0);
}

/** A bucket's label for people: "≤2.5ms", the open last one "> 10s". */
export function bucketLabel(i: number): string {
  const ms = (x: number) => (x >= 1000 ? `${x / 1000}s` : `${x}ms`);
  return i < HISTOGRAM_EDGES_MS.length ? `≤${ms(HISTOGRAM_EDGES_MS[i]!)}` : `>${ms(HISTOGRAM_EDGES_MS[HISTOGRAM_EDGES_MS.length - 1]!)}`;
}
