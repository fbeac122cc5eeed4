/**
 * Small pure helpers for benchmark figures. Absolute numbers on a shared 2-core machine are
 * noise; per-round ratios to the direct connection (and their median) are what we compare.
 */

/** The middle value, or the mean of the two middle values of an even count (with 2 rounds, not the lower one). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of unsorted values; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Per-round ratios a[i] / b[i], skipping rounds where either side is missing or b is zero. */
export function roundRatios(a: readonly (number | undefined)[], b: readonly (number | undefined)[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y) || y === 0) continue;
    out.push(x / y);
  }
  return out;
}

/** Rotates a list left by `by` places: round r starts with a different variant so no variant always runs first. */
export function rotate<T>(list: readonly T[], by: number): T[] {
  if (list.length === 0) return [];
  const k = ((by % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** 1234567 → "1.23 M", 12345 → "12.3 k": readable in a fixed-width table. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  if (abs >= 1e6) return `${(n / 1e6).toPrecision(3)} M`;
  if (abs >= 1e4) return `${(n / 1e3).toPrecision(3)} k`;
  return n >= 100 || Number.isInteger(n) ? n.toFixed(0) : n.toPrecision(3);
}
