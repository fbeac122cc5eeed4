/**
 * Wall-clock nanoseconds with monotonic precision: one anchor of Date.now() plus the
 * high-resolution timer, so call start times are ordered and precise to the nanosecond
 * while still meaning a real time of day (for recordings and spans).
 */
const anchorWallNs = BigInt(Date.now()) * 1_000_000n;
const anchorHr = process.hrtime.bigint();

export function nowNs(): bigint {
  return anchorWallNs + (process.hrtime.bigint() - anchorHr);
}

export function hrNow(): bigint {
  return process.hrtime.bigint();
}

export function nsToIso(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-11-27T00:00:00.123Z
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}
