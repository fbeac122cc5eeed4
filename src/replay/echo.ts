/**
 * Echo: when a client sends a value the recording had differently (a temp path, a generated pod
 * name), a real runtime would answer with the client's value wherever it repeats the request's.
 * Replay does the same to recorded answers: every string in the answer equal to the recorded
 * request's value becomes the client's value; values of 8 characters or more are also replaced
 * inside longer strings (a log directory inside a log path). Short values are replaced only
 * whole, so "0" or "v1" never rewrite unrelated text.
 */
import type { Difference, Json } from './json-diff.js';

/** Recorded value → client value. */
export type EchoPairs = Map<string, string>;

const MIN_SUBSTRING = 8;

/** The string leaves the client sent differently, as replacements. */
export function echoPairs(differences: readonly Difference[]): EchoPairs {
  const out: EchoPairs = new Map();
  for (const d of differences) {
    // Numbers in strings (64-bit integers) are not echoed: "10" is too likely to mean something else.
    if (typeof d.recorded === 'string' && typeof d.client === 'string' && d.recorded !== '' && d.recorded !== d.client && !/^-?\d+$/.test(d.recorded)) {
      out.set(d.recorded, d.client);
    }
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Applies replacements to every string leaf; `changed` says whether anything was replaced. */
export function applyEcho(value: Json, pairs: EchoPairs): { value: Json; changed: boolean } {
  if (pairs.size === 0) return { value, changed: false };
  const long = [...pairs.keys()].filter((k) => k.length >= MIN_SUBSTRING).sort((a, b) => b.length - a.length);
  const pattern = long.length > 0 ? new RegExp(long.map(escapeRegExp).join('|'), 'g') : undefined;
  let changed = false;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = pairs.get(v);
      if (whole !== undefined) {
        changed = true;
        return whole;
      }
      if (pattern && pattern.test(v)) {
        pattern.lastIndex = 0;
        changed = true;
        return v.replace(pattern, (m) => pairs.get(m)!);
      }
      if (pattern) pattern.lastIndex = 0;
      return v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const o: Json = {};
      for (const [k, x] of Object.entries(v as Json)) o[k] = walk(x);
      return o;
    }
    return v;
  };
  const out = walk(value) as Json;
  return { value: changed ? out : value, changed };
}
