/** Nanosecond timestamps: printing with full precision and parsing what users type for --since. */

/** `2026-11-27T00:36:10.123456789Z`: ISO 8601 with all nine fraction digits. */
export function isoNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(Number(ms)).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * A start bound for --since: a duration back from now (`90s`, `5m`, `2h`, `7d`), an ISO time
 * (fractions down to ns kept), or nanoseconds since the epoch (a plain integer of 13+ digits).
 * Returns undefined when the text is none of these.
 */
export function parseSince(text: string, now: bigint = nowNs()): bigint | undefined {
  const t = text.trim();
  const dur = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(t);
  if (dur) {
    const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[dur[2] as 'ms'];
    return now - BigInt(Math.round(Number(dur[1]) * unitMs * 1e6));
  }
  if (/^\d{13,}$/.test(t)) return BigInt(t);
  const iso = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (iso) {
    const secMs = Date.parse(`${iso[1]}${iso[3]}`);
    if (Number.isNaN(secMs)) return undefined;
    return BigInt(secMs) * 1_000_000n + BigInt((iso[2] ?? '').padEnd(9, '0'));
  }
  if (/^\d{4}-\d\d-\d\d$/.test(t)) {
    const ms = Date.parse(t + 'T00:00:00Z');
    return Number.isNaN(ms) ? undefined : BigInt(ms) * 1_000_000n;
  }
  return undefined;
}
