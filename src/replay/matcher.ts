/**
 * Which recorded call answers an incoming one. Pure: no sockets, no bytes — requests come in as
 * their decoded JSON view (after the same redaction the recorder applied), answers go out as the
 * chosen entry plus what to echo.
 *
 * Modes:
 * - `nearest` (default): a recorded request equal to the client's (ignored fields left out)
 *   wins; otherwise the recorded request of that method with the fewest differing fields.
 * - `exact`: equal requests only; anything else is a miss.
 * - `sequence`: the recorded order is enforced — the next call must be of the method recorded
 *   next; its request may differ (the differences are echoed, as in `nearest`).
 * Equal requests get their recorded answers in recorded order; once those run out the last one
 * repeats (`onExhausted: 'repeat'`) or it is a miss (`'error'`).
 *
 * With a life-cycle phase (`match(…, { phase, cursor })`, what replay's state passes), only
 * recorded calls filed under that phase take part — the entities they name were where the
 * client's entities are now — and among those equality, nearness and recorded order decide, as
 * above. Each `cursor` (the client's entities a call names) walks the recorded answers in order on
 * its own, so a second pod made from the same recorded pod gets the answers in the same order.
 * When no recorded call of the method was made in that phase, every call takes part and the hit
 * says `phaseMatched: false`.
 *
 * Miss codes: UNIMPLEMENTED (12) when the recording has no call of the method at all — what a
 * runtime that lacks the method answers; NOT_FOUND (5) when it has some but none is acceptable
 * (exact mode, exhausted answers, out of sequence).
 */
import { echoPairs, type EchoPairs } from './echo.js';
import { canonicalText, describeDifference, diffJson, type Difference, type Json } from './json-diff.js';
import { keepFilter, type IgnoreRule } from './ignore.js';

export type MatchMode = 'nearest' | 'exact' | 'sequence';
export type OnExhausted = 'repeat' | 'error';

export const STATUS_NOT_FOUND = 5;
export const STATUS_UNIMPLEMENTED = 12;

export interface MatcherOptions {
  mode?: MatchMode;
  onExhausted?: OnExhausted;
  ignore?: IgnoreRule[];
}

/** A recorded call as the matcher sees it; `value` is whatever the caller needs to answer. */
export interface Candidate<T> {
  method: string;
  /** Decoded (redacted) request; for a method outside the schema, e.g. `{ $bytes: base64 }`. */
  request: Json;
  value: T;
  /** The life-cycle phase key the call was recorded in (see state/phases.ts); '' when it names no entity. */
  phase?: string;
}

/** Where the client is, for a stateful match. */
export interface MatchContext {
  /** The phase key of the entities the client's call names, in recorded terms. */
  phase: string;
  /** Whose recorded order this is: the client's entity ids ('' for calls about none). */
  cursor: string;
  /** Only an equal request will do (no nearest, nothing learned): a miss otherwise. */
  equalOnly?: boolean;
}

export type MissReason = 'no-method' | 'no-equal' | 'exhausted' | 'out-of-sequence' | 'refused';

export interface Closest {
  /** Position of the closest call in the recording (0-based, recorded order). */
  index: number;
  request: Json;
  differences: Difference[];
}

export type MatchResult<T> =
  | {
      kind: 'hit';
      value: T;
      index: number;
      /** Fields where the client's request differs from the recorded one (empty: equal). */
      differences: Difference[];
      /** Recorded value → client value, to apply to the answer (this call's and earlier ones'). */
      echo: EchoPairs;
      /** The answer repeats one already given (the equal requests' answers ran out). */
      repeated: boolean;
      /** False when no recorded call of the method was made in the client's phase (any phase answered). */
      phaseMatched: boolean;
      explanation: string;
    }
  | {
      kind: 'miss';
      reason: MissReason;
      /** gRPC status code to answer with. */
      code: number;
      message: string;
      closest?: Closest;
    };

interface Entry<T> extends Candidate<T> {
  index: number;
}

/** Recorded calls of one method with equal requests (after ignoring), in recorded order. */
interface Group<T> {
  id: number;
  key: string;
  entries: Entry<T>[];
  /** The same entries by the phase they were recorded in. */
  byPhase: Map<string, Entry<T>[]>;
  next: number;
}

/** The groups of one method: by key for equality, as a list for nearness. */
interface MethodGroups<T> {
  byKey: Map<string, Group<T>>;
  list: Group<T>[];
  /** Phases some call of the method was recorded in. */
  phases: Set<string>;
}

const MAX_SHOWN = 8;

function shortMethod(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function differencesText(diffs: readonly Difference[]): string {
  const lines = diffs.slice(0, MAX_SHOWN).map((d) => `  ${describeDifference(d)}`);
  if (diffs.length > MAX_SHOWN) lines.push(`  … and ${diffs.length - MAX_SHOWN} more`);
  return lines.join('\n');
}

function fieldCount(n: number): string {
  return n === 1 ? '1 field' : `${n} fields`;
}

export class Matcher<T> {
  readonly mode: MatchMode;
  readonly onExhausted: OnExhausted;
  private readonly ignore: IgnoreRule[];
  private readonly entries: Entry<T>[] = [];
  private readonly groups = new Map<string, MethodGroups<T>>();
  /** `${group id}|${phase}|${cursor}` → how many of that phase's answers the cursor has had. */
  private readonly cursors = new Map<string, number>();
  private readonly keepers = new Map<string, (s: string[]) => boolean>();
  private sequenceNext = 0;
  /** Echo learned from earlier calls: a runtime remembers the names and paths it was given. */
  private readonly learned: EchoPairs = new Map();

  constructor(candidates: Iterable<Candidate<T>> = [], opts: MatcherOptions = {}) {
    this.mode = opts.mode ?? 'nearest';
    this.onExhausted = opts.onExhausted ?? 'repeat';
    this.ignore = opts.ignore ?? [];
    for (const c of candidates) this.add(c);
  }

  get size(): number {
    return this.entries.length;
  }

  methods(): string[] {
    return [...this.groups.keys()];
  }

  private keep(method: string): (s: string[]) => boolean {
    let k = this.keepers.get(method);
    if (!k) {
      k = keepFilter(this.ignore, method);
      this.keepers.set(method, k);
    }
    return k;
  }

  /** Requests' keys by request object: replay hands the same (frozen) view for calls with equal bytes. */
  private readonly keys = new WeakMap<object, { method: string; key: string }>();

  private keyOf(method: string, request: Json, keep: (s: string[]) => boolean): string {
    const known = this.keys.get(request);
    if (known !== undefined && known.method === method) return known.key;
    const key = canonicalText(request, keep);
    if (Object.isFrozen(request)) this.keys.set(request, { method, key });
    return key;
  }

  /** Adds a recorded call at the end (replay's --fallback --record adds the calls it learns). */
  add(c: Candidate<T>): void {
    const entry: Entry<T> = { ...c, index: this.entries.length };
    this.entries.push(entry);
    const key = canonicalText(c.request, this.keep(c.method));
    let mg = this.groups.get(c.method);
    if (!mg) {
      mg = { byKey: new Map(), list: [], phases: new Set() };
      this.groups.set(c.method, mg);
    }
    let g = mg.byKey.get(key);
    if (!g) {
      g = { id: this.entries.length, key, entries: [], byPhase: new Map(), next: 0 };
      mg.byKey.set(key, g);
      mg.list.push(g);
    }
    g.entries.push(entry);
    const phase = c.phase ?? '';
    mg.phases.add(phase);
    const same = g.byPhase.get(phase);
    if (same) same.push(entry);
    else g.byPhase.set(phase, [entry]);
  }

  /** Chooses the answer and advances the recorded order (per cursor, with a context). */
  match(method: string, request: Json, ctx?: MatchContext): MatchResult<T> {
    return this.run(method, request, false, ctx);
  }

  /** What `match` would do now, in plain words, without advancing anything. */
  explain(method: string, request: Json, ctx?: MatchContext): string {
    const r = this.run(method, request, true, ctx);
    return r.kind === 'hit' ? r.explanation : r.message;
  }

  /** Whether some recorded call of the method was made in this phase. */
  hasPhase(method: string, phase: string): boolean {
    return this.groups.get(method)?.phases.has(phase) ?? false;
  }

  private run(method: string, request: Json, dryRun: boolean, ctx?: MatchContext): MatchResult<T> {
    if (this.mode === 'sequence') return this.sequence(method, request, dryRun);
    const mg = this.groups.get(method);
    if (!mg) return this.noMethod(method);
    // In the client's phase when the recording has the method there; else any phase will do.
    const phaseMatched = ctx === undefined || mg.phases.has(ctx.phase);
    const scope = ctx !== undefined && phaseMatched ? ctx : undefined;
    const pool = (g: Group<T>): Entry<T>[] => (scope ? (g.byPhase.get(scope.phase) ?? []) : g.entries);
    const keep = this.keep(method);
    const key = this.keyOf(method, request, keep);
    const equal = mg.byKey.get(key);
    if (equal && pool(equal).length > 0) return this.take(equal, pool(equal), [], dryRun, 'equal request', scope, phaseMatched);
    if (ctx?.equalOnly) return { kind: 'miss', reason: 'no-equal', code: STATUS_NOT_FOUND, message: `critap replay: no recorded ${method} request equals this one in this phase` };
    const ranked = mg.list
      .filter((g) => pool(g).length > 0)
      .map((g) => ({ g, diffs: diffJson(g.entries[0]!.request, request, keep) }))
      .sort(
        (a, b) =>
          a.diffs.length - b.diffs.length ||
          Number(a.g.next >= a.g.entries.length) - Number(b.g.next >= b.g.entries.length) ||
          this.nextIndex(a.g) - this.nextIndex(b.g),
      );
    const best = ranked[0]!;
    const closest: Closest = { index: best.g.entries[0]!.index, request: best.g.entries[0]!.request, differences: best.diffs };
    if (this.mode === 'exact') {
      return {
        kind: 'miss',
        reason: 'no-equal',
        code: STATUS_NOT_FOUND,
        message:
          `critap replay: no recorded ${method} request equals this one (--match exact); ` +
          `the closest, call #${closest.index}, differs in ${fieldCount(best.diffs.length)}:\n${differencesText(best.diffs)}`,
        closest,
      };
    }
    return this.take(best.g, pool(best.g), best.diffs, dryRun, `nearest request, ${fieldCount(best.diffs.length)} ${best.diffs.length === 1 ? 'differs' : 'differ'}`, scope, phaseMatched);
  }

  private nextIndex(g: Group<T>): number {
    return g.entries[Math.min(g.next, g.entries.length - 1)]!.index;
  }

  private noMethod(method: string): Extract<MatchResult<T>, { kind: 'miss' }> {
    const have = [...this.groups.keys()].map(shortMethod);
    const list = have.length > 0 ? `it has calls of ${[...new Set(have)].sort().join(', ')}` : 'it has no calls at all';
    return {
      kind: 'miss',
      reason: 'no-method',
      code: STATUS_UNIMPLEMENTED,
      message: `critap replay: the recording has no call of ${method}; ${list}`,
    };
  }

  /** The next answer of `pool` (the group's entries, or those of one phase) in the cursor's order. */
  private take(
    g: Group<T>,
    pool: Entry<T>[],
    diffs: Difference[],
    dryRun: boolean,
    why: string,
    scope: MatchContext | undefined,
    phaseMatched: boolean,
  ): MatchResult<T> {
    const cursorKey = scope ? `${g.id}|${scope.phase}|${scope.cursor}` : undefined;
    const next = cursorKey === undefined ? g.next : (this.cursors.get(cursorKey) ?? 0);
    let entry: Entry<T>;
    let repeated = false;
    if (next < pool.length) {
      entry = pool[next]!;
      if (!dryRun) {
        if (cursorKey === undefined) g.next++;
        else this.cursors.set(cursorKey, next + 1);
      }
    } else if (this.onExhausted === 'repeat') {
      entry = pool[pool.length - 1]!;
      repeated = true;
    } else {
      const n = pool.length;
      return {
        kind: 'miss',
        reason: 'exhausted',
        code: STATUS_NOT_FOUND,
        message:
          `critap replay: the recorded answers to this ${g.entries[0]!.method} request are used up ` +
          `(${n === 1 ? 'it was recorded once' : `it was recorded ${n} times`}; --on-exhausted error)`,
        closest: { index: g.entries[0]!.index, request: g.entries[0]!.request, differences: diffs },
      };
    }
    return this.hit(entry, diffs, repeated, dryRun, phaseMatched ? why : `${why}; no recorded call of it in this phase`, phaseMatched);
  }

  private hit(entry: Entry<T>, diffs: Difference[], repeated: boolean, dryRun: boolean, why: string, phaseMatched = true): MatchResult<T> {
    // An equal request (most calls) has nothing of its own to echo: skip building and merging it.
    const own = diffs.length > 0 ? echoPairs(diffs) : undefined;
    const echo: EchoPairs = own === undefined || own.size === 0 ? new Map(this.learned) : new Map([...this.learned, ...own]);
    if (!dryRun && own !== undefined) for (const [k, v] of own) this.learned.set(k, v);
    let explanation = `${entry.method}: answered with recorded call #${entry.index} (${why}${repeated ? ', repeated: its recorded answers ran out' : ''})`;
    if (diffs.length > 0) explanation += `; differences:\n${differencesText(diffs)}`;
    if (echo.size > 0) explanation += `\n  echoed into the answer: ${[...echo].map(([a, b]) => `${JSON.stringify(a)} → ${JSON.stringify(b)}`).join(', ')}`;
    return { kind: 'hit', value: entry.value, index: entry.index, differences: diffs, echo, repeated, phaseMatched, explanation };
  }

  private sequence(method: string, request: Json, dryRun: boolean): MatchResult<T> {
    const next = this.entries[this.sequenceNext];
    if (next === undefined) {
      if (this.entries.length > 0 && this.onExhausted === 'repeat') {
        // The whole sequence has been played: answer like `nearest`, whose answers have all run out.
        const mg = this.groups.get(method);
        if (!mg) return this.noMethod(method);
        const keep = this.keep(method);
        const best = mg.list
          .map((g) => ({ g, diffs: diffJson(g.entries[0]!.request, request, keep) }))
          .sort((a, b) => a.diffs.length - b.diffs.length)[0]!;
        const last = best.g.entries[best.g.entries.length - 1]!;
        return this.hit(last, best.diffs, true, dryRun, 'the recorded sequence is over');
      }
      return {
        kind: 'miss',
        reason: 'exhausted',
        code: STATUS_NOT_FOUND,
        message: `critap replay: all ${this.entries.length} recorded calls have been played (--match sequence, --on-exhausted error); got ${method}`,
      };
    }
    if (!this.groups.has(method)) return this.noMethod(method);
    const diffs = diffJson(next.request, request, this.keep(method));
    if (next.method !== method) {
      return {
        kind: 'miss',
        reason: 'out-of-sequence',
        code: STATUS_NOT_FOUND,
        message: `critap replay: out of sequence (--match sequence): call #${next.index} of the recording is ${next.method}, got ${method}`,
        closest: { index: next.index, request: next.request, differences: diffs },
      };
    }
    if (!dryRun) {
      this.sequenceNext++;
      // Keep the per-request order in step, so a switch to repeat after the sequence is sane.
      const g = this.groups.get(method)!.byKey.get(canonicalText(next.request, this.keep(method)));
      if (g && g.next < g.entries.length) g.next++;
    }
    return this.hit(next, diffs, false, dryRun, diffs.length === 0 ? 'next in sequence, equal request' : 'next in sequence');
  }
}
