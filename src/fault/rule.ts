/**
 * Fault rules as people type them (`--fault`, the YAML `fault:` list, `critap fault add`):
 * comma-separated key=value, e.g. `method=RunPodSandbox,error=UNAVAILABLE,message=disk on fire,count=2`.
 * Every mistake is a FaultRuleError naming the key, with a suggestion where one is close:
 * a rule that silently matches nothing would make a test pass for the wrong reason.
 */
import { STATUS_NAMES } from '../call.js';
import { checkMethodPattern } from '../cri/method-pattern.js';
import { didYouMean } from '../cri/suggest.js';

export interface FaultRule {
  /** The rule as typed (normalised spacing): how lists, recordings and metrics name it. */
  readonly text: string;
  /** A method pattern as src/record/method-filter.ts matches it. */
  readonly method: string;
  readonly pod?: string;
  readonly namespace?: string;
  readonly container?: string;
  readonly image?: string;
  /** gRPC status code critap answers with itself (never 0). */
  readonly error?: number;
  readonly message?: string;
  readonly delayMs?: number;
  readonly delayResponseMs?: number;
  readonly hang?: boolean;
  readonly reset?: boolean;
  /** 0–100; 100 fires on every matching call. */
  readonly percent: number;
  /** Fires at most this many times. */
  readonly count?: number;
  /** The first this many matching calls pass untouched. */
  readonly after: number;
}

export class FaultRuleError extends Error {
  /** A mistake in what the user typed: the CLI prints it as a usage error (exit code 2). */
  readonly usage = true;
}

const KEYS = ['method', 'pod', 'namespace', 'container', 'image', 'error', 'message', 'delay', 'delay-response', 'hang', 'reset', 'percent', 'count', 'after'] as const;
type Key = (typeof KEYS)[number];
const FLAG_KEYS = new Set<Key>(['hang', 'reset']);

export const FAULT_RULE_HELP = 'a rule is key=value pairs joined by commas: method=<Method> plus one or more of error=<code>[,message=<text>], delay=<duration>, delay-response=<duration>, hang, reset; optionally pod=, namespace=, container=, image=, percent=, count=, after=';

function fail(rule: string, why: string): never {
  throw new FaultRuleError(`--fault "${rule}": ${why}`);
}

/** `error=UNAVAILABLE`, `error=unavailable`, `error=14`. */
export function parseStatusCode(value: string, rule: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n === 0) fail(rule, 'error=0 is OK, not an error; e.g. error=UNAVAILABLE or error=14');
    if (n > 16) fail(rule, `error=${v} is no gRPC status code (1 to 16)`);
    return n;
  }
  const i = STATUS_NAMES.indexOf(v.toUpperCase().replace(/-/g, '_') as (typeof STATUS_NAMES)[number]);
  if (i > 0) return i;
  if (i === 0) fail(rule, 'error=OK is not an error; e.g. error=UNAVAILABLE');
  fail(rule, `error=${v} is no gRPC status code${didYouMean(v.toUpperCase(), STATUS_NAMES.slice(1))}; e.g. UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED or a number 1-16`);
}

/** `1500ms`, `5s`, `1m`; a bare number is seconds (as every other duration flag of critap). */
export function parseFaultDuration(key: string, value: string, rule: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) fail(rule, `${key}=${value} is no duration; e.g. ${key}=1500ms or ${key}=5s`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms'];
}

function wholeNumber(key: string, value: string, rule: string): number {
  if (!/^\d+$/.test(value.trim())) fail(rule, `${key}=${value} wants a whole number, e.g. ${key}=2`);
  return Number(value.trim());
}

/**
 * Splits at commas that start a new `key=` (or a bare flag key): a message may itself hold
 * commas ("message=disk full, retry later") as long as what follows one is not `word=`.
 */
function splitPairs(text: string): string[] {
  return text.split(/,(?=\s*[A-Za-z][\w-]*\s*(?:=|,|$))/).map((p) => p.trim()).filter((p) => p !== '');
}

export function parseFaultRule(input: string): FaultRule {
  const rule = input.trim();
  if (rule === '') throw new FaultRuleError(`--fault wants a rule; ${FAULT_RULE_HELP}`);
  const seen = new Map<Key, string>();
  for (const pair of splitPairs(rule)) {
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : pair.slice(eq + 1).trim();
    if (!(KEYS as readonly string[]).includes(key)) {
      fail(rule, `unknown key "${key}"${didYouMean(key, KEYS)}; ${FAULT_RULE_HELP}`);
    }
    const k = key as Key;
    if (seen.has(k)) fail(rule, `${k} is given twice`);
    if (FLAG_KEYS.has(k)) {
      if (value !== undefined && !/^(true|yes|1)$/i.test(value)) fail(rule, `${k} takes no value (write just "${k}")`);
      seen.set(k, '');
      continue;
    }
    if (value === undefined || value === '') fail(rule, `${k} wants a value, e.g. ${example(k)}`);
    seen.set(k, value);
  }
  const method = seen.get('method');
  if (method === undefined) fail(rule, 'method= is required, e.g. method=RunPodSandbox');
  try {
    checkMethodPattern(method, 'method=');
  } catch (err) {
    fail(rule, (err as Error).message);
  }
  const out: { -readonly [K in keyof FaultRule]: FaultRule[K] } = { text: splitPairs(rule).join(','), method, percent: 100, after: 0 };
  for (const k of ['pod', 'namespace', 'container', 'image'] as const) {
    const v = seen.get(k);
    if (v !== undefined) out[k] = v;
  }
  const error = seen.get('error');
  if (error !== undefined) out.error = parseStatusCode(error, rule);
  const message = seen.get('message');
  if (message !== undefined) {
    if (error === undefined) fail(rule, 'message= goes with error=, e.g. error=UNAVAILABLE,message=runtime restarting');
    out.message = message;
  }
  const delay = seen.get('delay');
  if (delay !== undefined) out.delayMs = parseFaultDuration('delay', delay, rule);
  const delayResponse = seen.get('delay-response');
  if (delayResponse !== undefined) out.delayResponseMs = parseFaultDuration('delay-response', delayResponse, rule);
  if (seen.has('hang')) out.hang = true;
  if (seen.has('reset')) out.reset = true;
  const ends = [error !== undefined && 'error', out.hang && 'hang', out.reset && 'reset'].filter(Boolean);
  if (ends.length > 1) fail(rule, `${ends.join(' and ')} cannot both end one call; pick one`);
  if (ends.length === 0 && delay === undefined && delayResponse === undefined) {
    fail(rule, 'says what to match but not what to do: add error=<code>, delay=<duration>, delay-response=<duration>, hang or reset');
  }
  if (out.hang && delayResponse !== undefined) fail(rule, 'hang never answers, so delay-response has nothing to delay');
  const percent = seen.get('percent');
  if (percent !== undefined) {
    const p = Number(percent.replace(/%$/, ''));
    if (!/^\d+(\.\d+)?%?$/.test(percent) || !(p >= 0 && p <= 100)) fail(rule, `percent=${percent} wants a number from 0 to 100`);
    out.percent = p;
  }
  const count = seen.get('count');
  if (count !== undefined) {
    out.count = wholeNumber('count', count, rule);
    if (out.count === 0) fail(rule, 'count=0 would never fire; leave the rule out instead');
  }
  const after = seen.get('after');
  if (after !== undefined) out.after = wholeNumber('after', after, rule);
  return out;
}

function example(k: Key): string {
  switch (k) {
    case 'method': return 'method=RunPodSandbox';
    case 'error': return 'error=UNAVAILABLE';
    case 'delay': case 'delay-response': return `${k}=1500ms`;
    case 'percent': return 'percent=50';
    case 'count': case 'after': return `${k}=2`;
    case 'message': return 'message=runtime restarting';
    case 'image': return 'image=127.0.0.1:5000/pause:3.9';
    default: return `${k}=web-0`;
  }
}
