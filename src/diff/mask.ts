/**
 * What a person masks before comparing two runtimes' answers: ids, digests, times, IPs, ports
 * of loopback servers, temp folders and streaming tokens. Each becomes a placeholder naming what
 * it was, so "<ip>" vs "<ip>" is equal and "<ip>" vs "" is still a difference.
 */

const TIME_KEYS = new Set(['createdAt', 'startedAt', 'finishedAt', 'timestamp']);

const RULES: [RegExp, string][] = [
  [/sha256:[0-9a-f]{64}/g, 'sha256:<digest>'],
  [/\b[0-9a-f]{64}\b/g, '<id>'],
  [/\b(?:127\.0\.0\.1|localhost|\[::1\]):\d+/g, '127.0.0.1:<port>'],
  // Loopback stays loopback: only its port differs between runs.
  [/\b(?!127\.0\.0\.1\b)(?:\d{1,3}\.){3}\d{1,3}\b/g, '<ip>'],
  [/\/(exec|attach|portforward)\/[A-Za-z0-9_-]+/g, '/$1/<token>'],
  [/\/tmp\/[^/\s"]+/g, '/tmp/<tmp>'],
];

/** `ids`: sandbox and container ids seen in the recording, whatever their shape. */
export function maskString(text: string, ids: ReadonlyMap<string, string> = new Map()): string {
  let out = ids.get(text) ?? text;
  for (const [id, label] of ids) if (id.length >= 8 && out.includes(id)) out = out.split(id).join(label);
  for (const [re, to] of RULES) out = out.replace(re, to);
  return out;
}

/** A decoded message with every masked value replaced; time fields become "<time>". */
export function maskValue(value: unknown, ids: ReadonlyMap<string, string> = new Map(), key = ''): unknown {
  if (TIME_KEYS.has(key) && (typeof value === 'string' || typeof value === 'number')) return '<time>';
  if (typeof value === 'string') return maskString(value, ids);
  if (Array.isArray(value)) return value.map((v) => maskValue(v, ids, key));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[maskString(k, ids)] = maskValue(v, ids, k);
    return out;
  }
  return value;
}

/**
 * path → value of every leaf. Lists are compared as sets (elements sorted by their text): two
 * runtimes list the same images or containers in different orders.
 */
export function flatten(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) {
    const sorted = value.map((v) => ({ v, text: JSON.stringify(v) })).sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    sorted.forEach(({ v }, i) => flatten(v, `${prefix}[${i}]`, out));
    if (value.length === 0) out.set(prefix, '[]');
  } else if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    if (entries.length === 0 && prefix) out.set(prefix, '{}');
  } else {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}
