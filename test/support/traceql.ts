/**
 * The small part of TraceQL (Grafana Tempo's query language) that dashboards/critap-cri.json
 * uses, so tests can run its queries on spans the test collector received, without Tempo:
 *
 *   { cond && cond || cond } | select(ref, …) | quantile_over_time(duration, .99) by (ref, …)
 *
 * A cond is `ref op value`: op one of = != > >= < <= =~ !~; value a "string", a number, a
 * duration (100ms, 1.5s), true/false, nil, or a kind/status keyword (server, error, …). A ref is
 * `span.x`, `resource.x`, `.x` (span, else resource) or an intrinsic (name, duration, kind,
 * status, statusMessage). && binds tighter than ||; no parentheses. Anything else throws, so a
 * dashboard change beyond this subset is noticed rather than half-checked. Metrics stages
 * (`quantile_over_time` and friends) are parsed for the attributes they name, not evaluated.
 */
import type { AttrValue, ReceivedSpan } from './otlp-receiver.js';

export type Ref =
  | { scope: 'span' | 'resource' | 'any'; name: string; text: string }
  | { scope: 'intrinsic'; name: 'name' | 'duration' | 'kind' | 'status' | 'statusMessage'; text: string };

type Literal = { kind: 'string' | 'number' | 'bool' | 'keyword' | 'nil'; value: string | number | boolean | null };

export interface Condition {
  ref: Ref;
  op: '=' | '!=' | '>' | '>=' | '<' | '<=' | '=~' | '!~';
  value: Literal;
}

export interface TraceQlQuery {
  /** Disjunction of conjunctions: the filter matches when every condition of some group holds. */
  filter: Condition[][];
  /** Attributes of `| select(…)`. */
  select: Ref[];
  /** A metrics stage: its function, arguments and `by (…)` attributes. */
  metrics?: { fn: string; args: (Ref | Literal)[]; by: Ref[] };
}

const INTRINSICS = new Set(['name', 'duration', 'kind', 'status', 'statusMessage']);
const KEYWORDS = new Set(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer', 'unset', 'ok', 'error']);
const METRICS_FNS = new Set(['rate', 'count_over_time', 'quantile_over_time', 'histogram_over_time', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time']);
const DURATION_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const TOKEN = /\s*("(?:[^"\\]|\\.)*"|\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)\b|\d+(?:\.\d+)?|\.\d+|&&|\|\||=~|!~|!=|>=|<=|[=<>{}(),|]|[A-Za-z_.][\w.]*)/y;

function tokenize(text: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.trimEnd().length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) throw new Error(`traceql: cannot read "${text.slice(at)}"`);
    out.push(m[1]!);
  }
  return out;
}

function ref(tok: string): Ref {
  if (INTRINSICS.has(tok)) return { scope: 'intrinsic', name: tok as 'name', text: tok };
  for (const scope of ['span', 'resource'] as const) {
    if (tok.startsWith(`${scope}.`)) return { scope, name: tok.slice(scope.length + 1), text: tok };
  }
  if (/^\.[A-Za-z_]/.test(tok)) return { scope: 'any', name: tok.slice(1), text: tok };
  throw new Error(`traceql: "${tok}" is not an attribute or intrinsic`);
}

function literal(tok: string): Literal {
  if (tok.startsWith('"')) return { kind: 'string', value: JSON.parse(tok) as string };
  const d = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(tok);
  if (d) return { kind: 'number', value: Number(d[1]) * DURATION_NS[d[2]!]! };
  if (/^\d|^\.\d/.test(tok)) return { kind: 'number', value: Number(tok) };
  if (tok === 'true' || tok === 'false') return { kind: 'bool', value: tok === 'true' };
  if (tok === 'nil') return { kind: 'nil', value: null };
  if (KEYWORDS.has(tok)) return { kind: 'keyword', value: tok };
  throw new Error(`traceql: "${tok}" is not a value`);
}

export function parseTraceQl(text: string): TraceQlQuery {
  const toks = tokenize(text);
  let i = 0;
  const next = () => {
    const t = toks[i++];
    if (t === undefined) throw new Error(`traceql: "${text}" ends too early`);
    return t;
  };
  const expect = (want: string) => {
    const t = next();
    if (t !== want) throw new Error(`traceql: expected "${want}", got "${t}" in ${text}`);
  };
  const refList = (): Ref[] => {
    expect('(');
    const refs = [ref(next())];
    for (let t = next(); t !== ')'; t = next()) {
      if (t !== ',') throw new Error(`traceql: expected "," or ")", got "${t}"`);
      refs.push(ref(next()));
    }
    return refs;
  };

  expect('{');
  const filter: Condition[][] = [[]];
  // An empty filter, or conditions joined by && / || until the closing brace.
  while (toks[i] !== '}') {
    const r = ref(next());
    const op = next();
    if (!['=', '!=', '>', '>=', '<', '<=', '=~', '!~'].includes(op)) throw new Error(`traceql: unknown operator "${op}"`);
    filter.at(-1)!.push({ ref: r, op: op as Condition['op'], value: literal(next()) });
    const joiner = toks[i];
    if (joiner === '}') break;
    if (joiner !== '&&' && joiner !== '||') throw new Error(`traceql: unexpected "${joiner}" in the filter of ${text}`);
    i++;
    if (joiner === '||') filter.push([]);
    if (toks[i] === '}') throw new Error(`traceql: a condition must follow "${joiner}" in ${text}`);
  }
  expect('}');
  const query: TraceQlQuery = { filter: filter[0]!.length ? filter : [], select: [] };
  while (i < toks.length) {
    expect('|');
    const fn = next();
    if (fn === 'select') query.select.push(...refList());
    else if (METRICS_FNS.has(fn) && !query.metrics) {
      expect('(');
      const args: (Ref | Literal)[] = [];
      for (let t = next(); t !== ')'; t = next()) {
        if (t !== ',') args.push(/^(?:"|\d|\.\d)/.test(t) ? literal(t) : ref(t));
      }
      let by: Ref[] = [];
      if (toks[i] === 'by') {
        i++;
        by = refList();
      }
      query.metrics = { fn, args, by };
    } else throw new Error(`traceql: pipeline stage "${fn}" is not supported here`);
  }
  return query;
}

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES = ['unset', 'ok', 'error'];

/** A ref's value on a span; undefined when the span does not carry it. */
export function refValue(span: ReceivedSpan, r: Ref): AttrValue | undefined {
  switch (r.scope) {
    case 'span':
      return span.attributes[r.name];
    case 'resource':
      return span.resource[r.name];
    case 'any':
      return span.attributes[r.name] ?? span.resource[r.name];
    case 'intrinsic':
      if (r.name === 'name') return span.name;
      if (r.name === 'duration') return Number(span.endNs - span.startNs);
      if (r.name === 'kind') return KINDS[span.kind] ?? 'unspecified';
      if (r.name === 'status') return STATUSES[span.status.code] ?? 'unset';
      return span.status.message;
  }
}

function holds(span: ReceivedSpan, c: Condition): boolean {
  const v = refValue(span, c.ref);
  if (c.value.kind === 'nil') return c.op === '=' ? v === undefined : c.op === '!=' ? v !== undefined : false;
  const want = c.value.value;
  if (v === undefined || v === null || typeof v !== typeof want) return false;
  if (c.op === '=~' || c.op === '!~') {
    if (typeof v !== 'string') return false;
    // Tempo anchors regular expressions: the whole value must match.
    return new RegExp(`^(?:${String(want)})$`).test(v) === (c.op === '=~');
  }
  const a = v as string | number | boolean;
  const b = want as string | number | boolean;
  switch (c.op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    default:
      return a <= b;
  }
}

/** Whether a span passes the query's `{ … }` filter (an empty filter passes every span). */
export function matchesFilter(query: TraceQlQuery, span: ReceivedSpan): boolean {
  return query.filter.length === 0 || query.filter.some((group) => group.every((c) => holds(span, c)));
}

/** Every ref the query names: filter, select, metrics arguments and by(). */
export function queryRefs(query: TraceQlQuery): Ref[] {
  const isRef = (x: Ref | Literal): x is Ref => 'scope' in x;
  return [...query.filter.flat().map((c) => c.ref), ...query.select, ...(query.metrics?.args.filter(isRef) ?? []), ...(query.metrics?.by ?? [])];
}
