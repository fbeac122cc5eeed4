/**
 * `critap diff`: two recordings of the same workload side by side. Pure: give it each
 * recording's calls in start order, read a DiffResult.
 */
import { statusName } from '../call.js';
import { StatsCollector } from '../record/call-stats.js';
import { callView } from '../record/call-view.js';
import { humanCallView } from '../record/human-call-view.js';
import type { StoredCall } from '../record/stored-call.js';
import { LifeCycleKeys } from './align.js';
import { flatten, maskValue } from './mask.js';

export interface FieldDiff {
  path: string;
  /** Absent on one side: undefined. Values as JSON text, masked, at most MAX_VALUE characters. */
  a?: string;
  b?: string;
}

export interface CallDiff {
  key: string;
  fields: FieldDiff[];
}

export interface LatencyRow {
  method: string;
  callsA: number;
  callsB: number;
  p50A?: number;
  p50B?: number;
  p99A?: number;
  p99B?: number;
  /** p50 of b over p50 of a (undefined when either side has no call). */
  ratio?: number;
}

export interface DiffResult {
  a: string;
  b: string;
  aligned: number;
  equal: number;
  differing: CallDiff[];
  onlyInA: string[];
  onlyInB: string[];
  latency: LatencyRow[];
}

const MAX_VALUE = 300;
const clip = (s: string) => (s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s);

interface Side {
  byKey: Map<string, StoredCall>;
  order: string[];
  ids: ReadonlyMap<string, string>;
  stats: StatsCollector;
  /** comparable() of each different call (see sameAnswerKey). */
  views: Map<string, Fields>;
}

type Fields = Map<string, string>;

function side(calls: Iterable<StoredCall>): Side {
  const keys = new LifeCycleKeys();
  const byKey = new Map<string, StoredCall>();
  const order: string[] = [];
  const stats = new StatsCollector();
  for (const c of calls) {
    const k = keys.key(c);
    byKey.set(k, c);
    order.push(k);
    stats.add(c);
  }
  return { byKey, order, ids: keys.ids, stats, views: new Map() };
}

/**
 * Calls with the same key have the same comparable(): the same status and the same body
 * buffers. Readers that share equal bodies (record/shared-bodies.ts) give an hour of relists a
 * handful of keys; without sharing every call is its own key, and nothing changes but the time.
 */
const bufferIds = new WeakMap<Buffer, number>();
let nextBufferId = 1;
function bufferId(b: Buffer): number {
  let id = bufferIds.get(b);
  if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
  return id;
}

function sameAnswerKey(call: StoredCall): string {
  let k = `${call.status.code}:${call.end}:${call.status.message.length}:${call.status.message}`;
  for (const m of call.requests) k += `q${bufferId(m.data)}`;
  for (const m of call.responses) k += `a${bufferId(m.data)}`;
  return k;
}

/** comparable(), once per different call of a side: masking a 300-container list is most of a diff's time. */
function viewOf(s: Side, call: StoredCall): Fields {
  const key = sameAnswerKey(call);
  let v = s.views.get(key);
  if (!v) s.views.set(key, (v = comparable(call, s.ids)));
  return v;
}

/** What is compared of a call: its status and its messages as people read them, masked. */
function comparable(call: StoredCall, ids: ReadonlyMap<string, string>): Fields {
  const v = humanCallView(callView(call));
  const shown: Record<string, unknown> = { status: call.status.code === 0 && call.end === 'trailers' ? 'OK' : `${statusName(call.status.code)} (${call.end})` };
  if (call.status.code !== 0) shown['statusMessage'] = call.status.message;
  if (v.request !== undefined) shown['request'] = v.request;
  if (v.response !== undefined) shown['response'] = v.response;
  if (v.messages) shown['messages'] = v.messages.map((m) => m.message);
  return flatten(maskValue(shown, ids));
}

function compareFields(fa: Fields, fb: Fields): FieldDiff[] {
  const fields: FieldDiff[] = [];
  for (const path of new Set([...fa.keys(), ...fb.keys()])) {
    const va = fa.get(path);
    const vb = fb.get(path);
    if (va === vb) continue;
    const d: FieldDiff = { path };
    if (va !== undefined) d.a = clip(va);
    if (vb !== undefined) d.b = clip(vb);
    fields.push(d);
  }
  return fields;
}

export function diffRecordings(aName: string, aCalls: Iterable<StoredCall>, bName: string, bCalls: Iterable<StoredCall>): DiffResult {
  const a = side(aCalls);
  const b = side(bCalls);
  const differing: CallDiff[] = [];
  // The same two views compared again give the same fields: an hour of equal relists is one comparison.
  const compared = new Map<Fields, Map<Fields, FieldDiff[]>>();
  let aligned = 0;
  for (const key of a.order) {
    const cb = b.byKey.get(key);
    if (!cb) continue;
    aligned++;
    const fa = viewOf(a, a.byKey.get(key)!);
    const fb = viewOf(b, cb);
    let withA = compared.get(fa);
    if (!withA) compared.set(fa, (withA = new Map()));
    let fields = withA.get(fb);
    if (!fields) withA.set(fb, (fields = compareFields(fa, fb)));
    if (fields.length > 0) differing.push({ key, fields });
  }
  const statsA = new Map(a.stats.result().map((m) => [m.method, m]));
  const statsB = new Map(b.stats.result().map((m) => [m.method, m]));
  const latency: LatencyRow[] = [...new Set([...statsA.keys(), ...statsB.keys()])].sort().map((method) => {
    const x = statsA.get(method);
    const y = statsB.get(method);
    const row: LatencyRow = { method, callsA: x?.calls ?? 0, callsB: y?.calls ?? 0 };
    if (x) Object.assign(row, { p50A: x.p50Ms, p99A: x.p99Ms });
    if (y) Object.assign(row, { p50B: y.p50Ms, p99B: y.p99Ms });
    if (x && y && x.p50Ms > 0) row.ratio = Math.round((y.p50Ms / x.p50Ms) * 100) / 100;
    return row;
  });
  return {
    a: aName,
    b: bName,
    aligned,
    equal: aligned - differing.length,
    differing,
    onlyInA: a.order.filter((k) => !b.byKey.has(k)),
    onlyInB: b.order.filter((k) => !a.byKey.has(k)),
    latency,
  };
}
