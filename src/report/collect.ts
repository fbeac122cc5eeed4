/**
 * Everything the HTML report shows, gathered in one pass over a recording's calls. Pure: feed
 * it stored calls in start order, read a ReportData; nothing here knows about HTML.
 *
 * Large recordings: the summary, the method table and its histograms and the PLEG figures are
 * aggregates over every call; the PLEG chart turns into time buckets past MAX_RELIST_POINTS
 * relists; pod lanes, failed calls and sequence diagrams are capped (what was left out is
 * counted and said on the page). Only calls the page can open carry decoded bodies.
 */
import { statusName } from '../call.js';
import { StatsCollector, endedByClientOnPurpose, type MethodStats } from '../record/call-stats.js';
import { callView, type CallView } from '../record/call-view.js';
import { humanCallView } from '../record/human-call-view.js';
import type { StoredCall } from '../record/stored-call.js';
import { isoNs } from '../record/time.js';
import { clientName } from '../record/client-name.js';
import { bucketOf, emptyHistogram } from './histogram.js';
import { RelistTracker, type PlegView } from './pleg.js';
import { PodTracker, type Bar, type PodLane } from './pods.js';

export interface ReportLimits {
  /** Pods drawn on the timeline. */
  lanes: number;
  barsPerLane: number;
  /** Pods with a sequence diagram, and calls in each. */
  sequencePods: number;
  sequenceCalls: number;
  slowest: number;
  failed: number;
}

export const DEFAULT_LIMITS: ReportLimits = { lanes: 150, barsPerLane: 120, sequencePods: 10, sequenceCalls: 150, slowest: 25, failed: 500 };

/** One row of the slowest/failed tables. */
export interface CallRow {
  call: number;
  method: string;
  start: string;
  atMs: number;
  durationMs: number;
  status: string;
  message: string;
  client: string;
  /** Index into `pods` when the call is on a drawn pod. */
  pod?: number;
}

/** What a click opens: the call as show --json prints it, plus who sent it. */
export interface CallDetails extends CallView {
  client: string;
  traceparent?: string;
}

export interface SequenceStep {
  call: number;
  client: string;
  method: string;
  atMs: number;
  durationMs: number;
  error?: string;
  container?: string;
}

export interface ReportData {
  source: string;
  filters: string;
  summary: {
    firstStart?: string;
    lastEnd?: string;
    spanMs: number;
    calls: number;
    errors: number;
    cancelled: number;
    errorsByCode: Record<string, number>;
    clients: { name: string; calls: number }[];
    runtime?: { name: string; version: string; apiVersion: string };
  };
  methods: (MethodStats & { histogram: number[] })[];
  pods: PodLane[];
  podsNotDrawn: number;
  sequences: { pod: number; steps: SequenceStep[]; omitted: number }[];
  pleg: PlegView;
  slowest: CallRow[];
  failed: CallRow[];
  failedTotal: number;
  details: Record<number, CallDetails>;
  limits: ReportLimits;
}

const ms = (ns: bigint | number) => Number(ns) / 1e6;
const round = (x: number) => Math.round(x * 1000) / 1000;

/** A call that did not end well, in the sense `critap stats` counts errors. */
function failedStatus(call: StoredCall): string | undefined {
  if (endedByClientOnPurpose(call)) return undefined;
  if (call.status.code !== 0) return statusName(call.status.code);
  return call.end !== 'trailers' ? call.end.toUpperCase().replace('-', '_') : undefined;
}

function shortName(method: string): string {
  return method.slice(method.lastIndexOf('/') + 1);
}

export class ReportBuilder {
  private readonly stats = new StatsCollector();
  private readonly histograms = new Map<string, number[]>();
  private readonly pods: PodTracker;
  private readonly relists: RelistTracker;
  private readonly clients = new Map<string, number>();
  private readonly errorsByCode: Record<string, number> = {};
  private readonly slowest: CallRow[] = [];
  private readonly failed: CallRow[] = [];
  private readonly details = new Map<number, CallDetails>();
  private readonly sequences = new Map<PodLane, { steps: SequenceStep[]; omitted: number }>();
  private readonly rowsByLane: { row: CallRow; lane: PodLane }[] = [];
  private runtime: ReportData['summary']['runtime'];
  private firstNs?: bigint;
  private lastEndNs?: bigint;
  private n = 0;
  private errors = 0;
  private cancelled = 0;
  private failedTotal = 0;

  constructor(private readonly limits: ReportLimits = DEFAULT_LIMITS, plegThresholdMs = 1000) {
    this.pods = new PodTracker(limits.lanes, limits.barsPerLane);
    this.relists = new RelistTracker(plegThresholdMs);
  }

  add(call: StoredCall): void {
    const id = ++this.n;
    this.firstNs ??= call.startNs;
    const endNs = call.startNs + BigInt(Math.round(call.durationNs));
    if (this.lastEndNs === undefined || endNs > this.lastEndNs) this.lastEndNs = endNs;
    this.stats.add(call);
    const name = shortName(call.method);
    const atMs = round(ms(call.startNs - this.firstNs));
    const durationMs = round(call.durationNs / 1e6);
    const client = clientName(call);
    this.clients.set(client, (this.clients.get(client) ?? 0) + 1);
    let h = this.histograms.get(call.method);
    if (!h) this.histograms.set(call.method, (h = emptyHistogram()));
    h[bucketOf(durationMs)]!++;
    const error = failedStatus(call);
    if (endedByClientOnPurpose(call)) this.cancelled++;
    if (error) {
      this.errors++;
      this.errorsByCode[error] = (this.errorsByCode[error] ?? 0) + 1;
    }
    if (name === 'Version' && !error && !this.runtime) this.noteRuntime(call);
    // The relist lists everything: a List call with a filter (a state, a pod) is some other poll.
    if ((call.requests[0]?.data.length ?? 0) <= 2) this.relists.add(name, client, atMs, durationMs, error !== undefined);

    const bar: Bar = { call: id, method: name, atMs, durationMs };
    if (error) bar.error = error;
    const lane = this.pods.add(call.ids, bar);
    const row = (): CallRow => ({
      call: id, method: name, start: isoNs(call.startNs), atMs, durationMs, status: error ?? 'OK', message: call.status.message, client,
    });
    if (lane) {
      const step: SequenceStep = { call: id, client, method: name, atMs, durationMs };
      if (error) step.error = error;
      const cid = call.ids.containerId;
      // Most container calls name only the id: the name is the one its CreateContainer gave.
      const container = call.ids.containerName ?? (cid ? (lane.containers.find((c) => c.id === cid)?.name ?? cid.slice(0, 12)) : undefined);
      if (container) step.container = container;
      this.addStep(lane, call, step);
    }
    if (error) {
      this.failedTotal++;
      if (this.failed.length < this.limits.failed) {
        const r = row();
        this.failed.push(r);
        if (lane) this.rowsByLane.push({ row: r, lane });
        this.keepDetails(id, call, client);
      }
    }
    this.considerSlow(row, durationMs, lane, call, client, id);
  }

  private considerSlow(row: () => CallRow, durationMs: number, lane: PodLane | undefined, call: StoredCall, client: string, id: number): void {
    const s = this.slowest;
    if (s.length >= this.limits.slowest && durationMs <= s[s.length - 1]!.durationMs) return;
    const r = row();
    const at = s.findIndex((x) => x.durationMs < durationMs);
    s.splice(at < 0 ? s.length : at, 0, r);
    if (lane) this.rowsByLane.push({ row: r, lane });
    this.keepDetails(id, call, client);
    if (s.length > this.limits.slowest) {
      const gone = s.pop()!;
      if (!this.referencedElsewhere(gone.call)) this.details.delete(gone.call);
    }
  }

  private referencedElsewhere(id: number): boolean {
    if (this.failed.some((r) => r.call === id)) return true;
    for (const seq of this.sequences.values()) if (seq.steps.some((st) => st.call === id)) return true;
    return false;
  }

  private addStep(lane: PodLane, call: StoredCall, step: SequenceStep): void {
    let seq = this.sequences.get(lane);
    if (!seq) {
      if (this.sequences.size >= this.limits.sequencePods) return;
      this.sequences.set(lane, (seq = { steps: [], omitted: 0 }));
    }
    if (seq.steps.length >= this.limits.sequenceCalls) {
      seq.omitted++;
      return;
    }
    seq.steps.push(step);
    this.keepDetails(step.call, call, step.client);
  }

  private keepDetails(id: number, call: StoredCall, client: string): void {
    if (this.details.has(id)) return;
    const d: CallDetails = { ...humanCallView(callView(call)), client };
    const tp = call.requestMetadata.find(([k]) => k === 'traceparent')?.[1];
    if (tp) d.traceparent = tp;
    this.details.set(id, d);
  }

  private noteRuntime(call: StoredCall): void {
    const v = callView(call).response as { runtimeName?: string; runtimeVersion?: string; runtimeApiVersion?: string } | undefined;
    if (v?.runtimeName) this.runtime = { name: v.runtimeName, version: v.runtimeVersion ?? '', apiVersion: v.runtimeApiVersion ?? '' };
  }

  result(source: string, filters: string): ReportData {
    const lanes = this.pods.lanes;
    const laneIndex = new Map(lanes.map((l, i) => [l, i]));
    for (const { row, lane } of this.rowsByLane) {
      const i = laneIndex.get(lane);
      if (i !== undefined) row.pod = i;
    }
    // DeadlineExceeded first: those are what a kubelet gives up on.
    const failed = [...this.failed].sort((a, b) => Number(b.status === 'DEADLINE_EXCEEDED') - Number(a.status === 'DEADLINE_EXCEEDED') || a.atMs - b.atMs);
    const details: Record<number, CallDetails> = {};
    for (const [k, v] of this.details) details[k] = v;
    const summary: ReportData['summary'] = {
      spanMs: this.firstNs !== undefined && this.lastEndNs !== undefined ? round(ms(this.lastEndNs - this.firstNs)) : 0,
      calls: this.n,
      errors: this.errors,
      cancelled: this.cancelled,
      errorsByCode: this.errorsByCode,
      clients: [...this.clients].map(([name, calls]) => ({ name, calls })).sort((a, b) => b.calls - a.calls),
    };
    if (this.firstNs !== undefined) summary.firstStart = isoNs(this.firstNs);
    if (this.lastEndNs !== undefined) summary.lastEnd = isoNs(this.lastEndNs);
    if (this.runtime) summary.runtime = this.runtime;
    return {
      source,
      filters,
      summary,
      methods: this.stats.result().map((m) => ({ ...m, histogram: this.histograms.get(m.method)! })),
      pods: lanes,
      podsNotDrawn: this.pods.droppedPods,
      sequences: [...this.sequences].map(([lane, s]) => ({ pod: laneIndex.get(lane)!, ...s })),
      pleg: this.relists.result(),
      slowest: this.slowest,
      failed,
      failedTotal: this.failedTotal,
      details,
      limits: this.limits,
    };
  }
}
