/**
 * The live rules of one proxy or replay: added and removed while calls run (the admin socket),
 * each with its own counters. `decide` is what a call asks before it is forwarded or answered;
 * with no rules it returns at once, so a process without faults pays one length check.
 */
import type { CallIds } from '../cri/ids.js';
import { methodMatches } from '../record/method-filter.js';
import { parseFaultRule, type FaultRule } from './rule.js';

export type FaultAction = 'error' | 'delay' | 'delay-response' | 'hang' | 'reset';

/** What to do to one call: the rule that fired and its actions. */
export interface Injection {
  readonly ruleId: number;
  readonly rule: FaultRule;
  /** In the order they happen: delay, then error/hang/reset, then delay-response. */
  readonly actions: readonly FaultAction[];
}

export interface FaultRuleState {
  id: number;
  rule: string;
  /** Matching calls seen (including those skipped by after= or percent=). */
  matched: number;
  fired: number;
  /** count= reached: the rule fires no more. */
  spent: boolean;
}

interface Live {
  id: number;
  rule: FaultRule;
  matched: number;
  fired: number;
}

export function actionsOf(rule: FaultRule): FaultAction[] {
  const a: FaultAction[] = [];
  if (rule.delayMs !== undefined) a.push('delay');
  if (rule.error !== undefined) a.push('error');
  if (rule.hang) a.push('hang');
  if (rule.reset) a.push('reset');
  if (rule.delayResponseMs !== undefined) a.push('delay-response');
  return a;
}

/** Whether a rule looks past the method at the call's pod, namespace, container or image. */
export function needsIds(rule: FaultRule): boolean {
  return rule.pod !== undefined || rule.namespace !== undefined || rule.container !== undefined || rule.image !== undefined;
}

export class FaultSet {
  private rules: Live[] = [];
  private nextId = 1;
  /** Called with each injection (metrics, logs). */
  onFire: ((i: Injection, path: string) => void) | undefined;

  constructor(
    initial: readonly (string | FaultRule)[] = [],
    /** Chance source, replaceable in tests: a number in [0, 1). */
    private readonly random: () => number = Math.random,
  ) {
    for (const r of initial) this.add(r);
  }

  get size(): number {
    return this.rules.length;
  }

  /** Whether any rule needs the call's ids: callers extract them only then. */
  get wantsIds(): boolean {
    return this.rules.some((r) => needsIds(r.rule));
  }

  /** Parses (throws FaultRuleError on a bad rule) and adds; returns the new rule's id. */
  add(rule: string | FaultRule): number {
    const parsed = typeof rule === 'string' ? parseFaultRule(rule) : rule;
    const id = this.nextId++;
    this.rules = [...this.rules, { id, rule: parsed, matched: 0, fired: 0 }];
    return id;
  }

  remove(id: number): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length < before;
  }

  clear(): void {
    this.rules = [];
  }

  list(): FaultRuleState[] {
    return this.rules.map((r) => ({ id: r.id, rule: r.rule.text, matched: r.matched, fired: r.fired, spent: r.rule.count !== undefined && r.fired >= r.rule.count }));
  }

  /** Whether some live rule names this method (its other conditions are decided later). */
  mayMatch(path: string): boolean {
    if (this.rules.length === 0) return false;
    for (const r of this.rules) {
      if (r.rule.count !== undefined && r.fired >= r.rule.count) continue;
      if (methodMatches(r.rule.method, path)) return true;
    }
    return false;
  }

  /** The first rule (in the order added) that matches the call and whose conditions let it fire. */
  decide(path: string, ids?: CallIds): Injection | undefined {
    if (this.rules.length === 0) return undefined;
    for (const r of this.rules) {
      const rule = r.rule;
      if (!methodMatches(rule.method, path)) continue;
      if (needsIds(rule) && !idsMatch(rule, ids ?? {})) continue;
      if (rule.count !== undefined && r.fired >= rule.count) continue;
      r.matched++;
      if (r.matched <= rule.after) continue;
      if (rule.percent < 100 && !(this.random() * 100 < rule.percent)) continue;
      r.fired++;
      const injection: Injection = { ruleId: r.id, rule, actions: actionsOf(rule) };
      this.onFire?.(injection, path);
      return injection;
    }
    return undefined;
  }
}

function idsMatch(rule: FaultRule, ids: CallIds): boolean {
  if (rule.pod !== undefined && ids.podName !== rule.pod) return false;
  if (rule.namespace !== undefined && ids.podNamespace !== rule.namespace) return false;
  if (rule.container !== undefined && ids.containerName !== rule.container) return false;
  if (rule.image !== undefined && !imageMatches(rule.image, ids.image)) return false;
  return true;
}

/** `image=127.0.0.1:5000/pause` matches any tag or digest of it; with a tag, that tag only. */
function imageMatches(want: string, image: string | undefined): boolean {
  if (image === undefined) return false;
  if (image === want) return true;
  return image.startsWith(want) && (image[want.length] === ':' || image[want.length] === '@');
}
