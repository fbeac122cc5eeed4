/**
 * Request fields replay leaves out when comparing requests (`--ignore PATH`): values that change
 * on every run without changing what the runtime answers, like the kubelet's
 * `kubernetes.io/config.seen` timestamp annotation.
 *
 * A rule is `[Method:]path`. The method part (full path, Service/Method or bare name) limits the
 * rule to one method. The path is dot-separated field names in the JSON view (lowerCamelCase or
 * snake_case), `*` for any one segment (a field, map key or list index), `**` for any number of
 * segments, and `["…"]` for a map key with dots or slashes. A rule naming a message ignores
 * everything inside it.
 */
import { methodMatches } from '../record/method-filter.js';

export interface IgnoreRule {
  /** What the user wrote, for messages. */
  text: string;
  method?: string;
  segments: string[];
}

export class IgnoreRuleError extends Error {
  /** A mistake in what the user typed: the CLI prints it as a usage error (exit code 2). */
  readonly usage = true;
}

/** Ignored unless the user says otherwise: timestamps the kubelet puts in pod annotations. */
export const DEFAULT_IGNORE = ['**.annotations["kubernetes.io/config.seen"]'];

function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function parsePath(text: string, path: string): string[] {
  const segments: string[] = [];
  let i = 0;
  const fail = (why: string) => new IgnoreRuleError(`critap: --ignore "${text}": ${why}`);
  while (i < path.length) {
    if (path[i] === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) throw fail('a "[" has no closing "]"');
      const inner = path.slice(i + 1, close);
      let key: unknown;
      try {
        key = /^\d+$/.test(inner) ? inner : JSON.parse(inner);
      } catch {
        throw fail(`${inner} should be a list index or a quoted key like ["kubernetes.io/config.seen"]`);
      }
      if (typeof key !== 'string') throw fail(`${inner} should be a quoted key`);
      segments.push(key);
      i = close + 1;
      if (path[i] === '.') i++;
      continue;
    }
    let j = i;
    while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
    const seg = path.slice(i, j);
    if (seg === '') throw fail('empty path segment');
    segments.push(seg === '*' || seg === '**' ? seg : camel(seg));
    i = path[j] === '.' ? j + 1 : j;
    if (path[j] === '.' && i === path.length) throw fail('path ends with "."');
  }
  if (segments.length === 0) throw fail('empty path');
  return segments;
}

export function parseIgnoreRule(text: string): IgnoreRule {
  const t = text.trim();
  // The method part never contains '[' or '.' before its ':' … except a package in a full path.
  const m = /^((?:\/)?[A-Za-z0-9_.]+(?:\/[A-Za-z0-9_]+)?):(.+)$/.exec(t);
  if (m && !m[1]!.includes('[')) return { text: t, method: m[1], segments: parsePath(t, m[2]!) };
  return { text: t, segments: parsePath(t, t) };
}

/** Does a pattern match a prefix of the leaf's path? */
function matchPrefix(pattern: readonly string[], pi: number, path: readonly string[], si: number): boolean {
  if (pi === pattern.length) return true;
  const p = pattern[pi]!;
  if (p === '**') {
    for (let k = si; k <= path.length; k++) if (matchPrefix(pattern, pi + 1, path, k)) return true;
    return false;
  }
  if (si === path.length) return false;
  if (p !== '*' && p !== path[si]) return false;
  return matchPrefix(pattern, pi + 1, path, si + 1);
}

/** A predicate: keep this leaf when comparing requests of `method`? */
export function keepFilter(rules: readonly IgnoreRule[], method: string): (segments: string[]) => boolean {
  const active = rules.filter((r) => r.method === undefined || methodMatches(r.method, method));
  if (active.length === 0) return () => true;
  return (segments) => !active.some((r) => matchPrefix(r.segments, 0, segments, 0));
}
