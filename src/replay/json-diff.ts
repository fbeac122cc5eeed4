/**
 * Field-level comparison of two decoded CRI messages (their JSON view, as crictl prints them).
 * A message is flattened to its leaves — each with a path of segments (field names, map keys,
 * list indices) — and two messages differ by the leaves that are not equal. Fields at their
 * default value are absent from the JSON view, so "absent" and "zero" compare equal.
 */

export type Json = Record<string, unknown>;

export interface Leaf {
  path: string[];
  value: unknown;
}

export interface Difference {
  /** Printable path, e.g. `config.metadata.name`, `cmd[1]`, `annotations["kubernetes.io/config.seen"]`. */
  path: string;
  segments: string[];
  /** Absent when the recorded request has no such field. */
  recorded?: unknown;
  /** Absent when the client's request has no such field. */
  client?: unknown;
}

/** Every leaf of a JSON value, depth first, in key order. Empty objects/arrays are no leaves. */
export function flatten(value: unknown, prefix: string[] = [], out: Leaf[] = []): Leaf[] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(v, [...prefix, String(i)], out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Json)) flatten(v, [...prefix, k], out);
  } else if (prefix.length > 0) {
    out.push({ path: prefix, value });
  }
  return out;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function formatPath(segments: readonly string[]): string {
  let s = '';
  for (const seg of segments) {
    if (/^\d+$/.test(seg)) s += `[${seg}]`;
    else if (IDENT.test(seg)) s += s === '' ? seg : `.${seg}`;
    else s += `[${JSON.stringify(seg)}]`;
  }
  return s;
}

/** Leaves keyed by their path (segments joined by a separator no JSON key of CRI uses). */
function leafMap(value: unknown, keep: (segments: string[]) => boolean): Map<string, Leaf> {
  const m = new Map<string, Leaf>();
  for (const leaf of flatten(value)) if (keep(leaf.path)) m.set(leaf.path.join('\u0000'), leaf);
  return m;
}

/** The leaves that differ, recorded order first, then leaves only the client has. */
export function diffJson(recorded: unknown, client: unknown, keep: (segments: string[]) => boolean = () => true): Difference[] {
  const a = leafMap(recorded, keep);
  const b = leafMap(client, keep);
  const out: Difference[] = [];
  for (const [k, leaf] of a) {
    const other = b.get(k);
    if (other === undefined) out.push({ path: formatPath(leaf.path), segments: leaf.path, recorded: leaf.value });
    else if (other.value !== leaf.value) out.push({ path: formatPath(leaf.path), segments: leaf.path, recorded: leaf.value, client: other.value });
  }
  for (const [k, leaf] of b) if (!a.has(k)) out.push({ path: formatPath(leaf.path), segments: leaf.path, client: leaf.value });
  return out;
}

/** A JSON value with the leaves `keep` rejects removed; keys sorted, so equal values give equal text. */
export function canonicalText(value: unknown, keep: (segments: string[]) => boolean = () => true): string {
  const leaves = flatten(value).filter((l) => keep(l.path));
  leaves.sort((x, y) => (x.path.join('\u0000') < y.path.join('\u0000') ? -1 : 1));
  return JSON.stringify(leaves.map((l) => [l.path, l.value]));
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
}

/** One difference in plain words. */
export function describeDifference(d: Difference): string {
  if (!('client' in d)) return `${d.path}: recorded ${show(d.recorded)}, the request has none`;
  if (!('recorded' in d)) return `${d.path}: the request has ${show(d.client)}, the recording has none`;
  return `${d.path}: recorded ${show(d.recorded)}, got ${show(d.client)}`;
}
