/**
 * Turns per-round measurements into medians, per-round ratios to direct, the stdout table,
 * the target verdicts and the JSON document.
 */
import type { IdleFigures, IdleRun } from './idle-rss.js';
import type { RecorderFigures } from './recorder-main.js';
import type { ReplayChoiceFigures } from './replay-choice-main.js';
import type { MetricDef } from './scenarios.js';
import { unmeasuredIn } from './failures.js';
import { formatCount, median, roundRatios } from './stats.js';
import { VARIANT_LABELS, type VariantFigures, type VariantId } from './variants.js';

export interface Measurement {
  round: number;
  figures?: Record<string, number | undefined>;
  observers?: VariantFigures;
  /**
   * µs of CPU per call (per message for streams) over the measured part of the round, by part:
   * proxy (what sits between client and runtime, all threads), critapMain / critapObserver /
   * critapOther (critap's threads), runtime, client (all client workers); proxyWarmup is the
   * proxy's CPU per call over the warm-up calls before the measured part (a fresh critap's JIT).
   * From bench/cpu.ts.
   */
  cpuUsPerCall?: Record<string, number>;
  /** How long after the last answer the proxy took to go idle (its CPU is read then; bench/cpu.ts settleCpu). */
  settleMs?: number;
  ok?: number;
  errors?: number;
  firstError?: string;
  /** The measurement could not be made at all. */
  failure?: string;
}

export interface ScenarioRun {
  id: string;
  title: string;
  upstream: 'fake' | 'containerd';
  metrics: MetricDef[];
  variants: VariantId[];
  /** Variants left out, with why. */
  missing: Partial<Record<VariantId, string>>;
  skipped?: string;
  rounds: Partial<Record<VariantId, Measurement[]>>;
}

export interface MetricSummary {
  values: (number | undefined)[];
  median: number;
  ratiosToDirect: number[];
  medianRatio: number;
  /** The same against the floor variant (socat) of the same rounds; empty / NaN without it. */
  ratiosToFloor: number[];
  medianRatioToFloor: number;
}

export function summarize(run: ScenarioRun, variant: VariantId, metric: string): MetricSummary {
  const valuesOf = (v: VariantId) => (run.rounds[v] ?? []).map((m) => (m.failure ? undefined : m.figures?.[metric]));
  const values = valuesOf(variant);
  const ratios = roundRatios(values, valuesOf('direct'));
  const toFloor = run.missing.floor ? [] : roundRatios(values, valuesOf('floor'));
  const present = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return { values, median: median(present), ratiosToDirect: ratios, medianRatio: median(ratios), ratiosToFloor: toFloor, medianRatioToFloor: median(toFloor) };
}

/** Median µs of CPU per call of each part (see Measurement.cpuUsPerCall) over the rounds. */
export function summarizeCpu(run: ScenarioRun, variant: VariantId): Record<string, number> {
  const byPart = new Map<string, number[]>();
  for (const m of run.rounds[variant] ?? []) {
    for (const [part, us] of Object.entries(m.cpuUsPerCall ?? {})) byPart.set(part, [...(byPart.get(part) ?? []), us]);
  }
  return Object.fromEntries([...byPart].map(([part, list]) => [part, median(list)]));
}

export interface RecorderRun {
  rounds: RecorderFigures[];
  failure?: string;
}

export interface ReplayChoiceRun {
  rounds: ReplayChoiceFigures[];
  failure?: string;
}

/** Replay's own cost per call, state on and off side by side (medians over the rounds). */
export function renderReplayChoice(run: ReplayChoiceRun): string {
  const head = `Replay's answer choice, no sockets (a kubelet-like recording of ${formatCount(run.rounds[0]?.calls ?? 0)} calls, the same calls again)`;
  if (run.failure) return `${head}: FAILED (${run.failure})`;
  const med = (k: keyof ReplayChoiceFigures) => median(run.rounds.map((r) => r[k]));
  const us = (k: keyof ReplayChoiceFigures) => `${med(k).toFixed(1)} µs`;
  return [
    head,
    `  state on, the recorded lives:   ${us('meanUsState')}/call mean, p99 ${us('p99UsState')}; index built in ${formatCount(med('loadMsState'))} ms`,
    `  state on, new lives (new ids):  ${us('meanUsStateNewLives')}/call mean, p99 ${us('p99UsStateNewLives')}`,
    `  --no-state:                     ${us('meanUsNoState')}/call mean, p99 ${us('p99UsNoState')}; index built in ${formatCount(med('loadMsNoState'))} ms`,
    `  state on vs off: ${(med('meanUsState') / med('meanUsNoState')).toFixed(2)}× per call; misses ${run.rounds.reduce((a, r) => a + r.misses, 0)}`,
  ].join('\n');
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  status: 'met' | 'not met' | 'not measured';
}

const fmtRatio = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '');
const pad = (s: string, w: number) => (s.length >= w ? s : s + ' '.repeat(w - s.length));
const padL = (s: string, w: number) => (s.length >= w ? s : ' '.repeat(w - s.length) + s);

const CPU_LABELS: Record<string, string> = { proxy: 'in between, all threads', proxyWarmup: 'in between, warm-up calls', runtime: 'runtime', client: 'client workers' };

export function renderTable(runs: ScenarioRun[], recorder: RecorderRun | undefined, variants: VariantId[]): string {
  const labelW = 58;
  const cellW = 19;
  const lines: string[] = [];
  // Each cell keeps one space before it, so a cell wider than its column never runs into the last.
  const row = (label: string, cells: string[]) => lines.push(pad(label, labelW) + cells.map((c) => ' ' + padL(c, cellW - 1)).join(''));
  lines.push(pad('scenario / figure (median; ×direct = median of per-round ratios)', labelW) + variants.map((v) => padL(VARIANT_LABELS[v], cellW)).join(''));
  lines.push('-'.repeat(labelW + cellW * variants.length));
  for (const run of runs) {
    const rounds = Math.max(0, ...Object.values(run.rounds).map((ms) => ms?.length ?? 0));
    lines.push(run.title + (run.skipped ? `: SKIPPED (${run.skipped})` : rounds > 0 ? `, ${rounds} round${rounds === 1 ? '' : 's'}` : ''));
    if (run.skipped) continue;
    /** The cell when a variant has no figures at all, or undefined when it has some. */
    const absent = (v: VariantId): string | undefined => {
      if (!run.variants.includes(v)) return '—';
      if (run.missing[v]) return 'missing';
      const ms = run.rounds[v] ?? [];
      return ms.length && ms.every((m) => m.failure) ? 'FAILED' : undefined;
    };
    const withFloor = run.variants.includes('floor') && !absent('floor');
    for (const metric of run.metrics) {
      const summaries = variants.map((v) => (absent(v) ? undefined : summarize(run, v, metric.id)));
      row(
        `  ${metric.label === metric.unit ? metric.label : `${metric.label} (${metric.unit})`}`,
        variants.map((v, i) => absent(v) ?? `${formatCount(summaries[i]!.median)}${v === 'direct' ? '' : ` ${fmtRatio(summaries[i]!.medianRatio)}`}`),
      );
      const toFloor = variants.map((v, i) => (!withFloor || v === 'direct' || v === 'floor' || !summaries[i] ? '' : fmtRatio(summaries[i]!.medianRatioToFloor)));
      // Figures the floor has no value for (critap's RSS, its bodies not kept) get no such row.
      if (toFloor.some((c) => c !== '')) row('    × floor (socat, same rounds)', toFloor);
    }
    const cpu = variants.map((v) => (absent(v) ? undefined : summarizeCpu(run, v)));
    if (cpu.some((c) => c && Object.keys(c).length > 0)) {
      // Parts are differences of tick-rounded counters: a thread's share can come out a hair below 0.
      const us = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '' : Math.abs(n) < 0.05 ? '0.0' : Math.abs(n) >= 1e4 ? formatCount(n) : Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1));
      for (const part of ['proxy', 'proxyWarmup', 'runtime', 'client']) {
        if (part === 'proxyWarmup' && !cpu.some((c) => c?.proxyWarmup !== undefined)) continue;
        row(`  CPU µs/call: ${CPU_LABELS[part]}`, cpu.map((c) => us(c?.[part])));
        if (part === 'proxy' && cpu.some((c) => c?.critapMain !== undefined)) {
          row('    critap main / observer / other thread', cpu.map((c) => (c?.critapMain === undefined ? '' : `${us(c.critapMain)}/${us(c.critapObserver) || '—'}/${us(c.critapOther)}`)));
        }
      }
    }
    const notes = noteLines(run);
    for (const n of notes) lines.push(`    ! ${n}`);
  }
  if (recorder) {
    lines.push('Recording alone (Recorder fed synthetic calls, no proxy)' + (recorder.failure ? `: FAILED (${recorder.failure})` : ''));
    if (!recorder.failure) {
      const med = (k: keyof RecorderFigures) => median(recorder.rounds.map((r) => r[k]));
      const sum = (k: keyof RecorderFigures) => recorder.rounds.reduce((a, r) => a + r[k], 0);
      lines.push(`  capacity: ${formatCount(med('callsPerSec'))} calls/s written, dropped ${sum('capacityDropped')}`);
      lines.push(`  paced at the target rate: ${formatCount(med('pacedCallsPerSec'))} calls/s written, dropped ${sum('pacedDropped')}, peak queue ${formatCount(med('pacedPeakQueue'))}`);
    }
  }
  return lines.join('\n');
}

/** critap idle with recording and tracing on (bench/idle-rss.ts), medians over the rounds. */
export function renderIdle(run: IdleRun): string {
  const head = 'critap idle, recording + tracing on';
  if (run.failure && run.rounds.length === 0) return `${head}: FAILED (${run.failure})`;
  const med = (k: keyof IdleFigures) => median(run.rounds.map((r) => r[k]).filter((v): v is number => v !== undefined));
  const paced = run.rounds.some((r) => r.pacedRssMB !== undefined)
    ? `; ${med('pacedRssMB').toFixed(1)} MB after ${formatCount(med('pacedCalls'))} more calls at 10 a second over ${(med('pacedMs') / 1000).toFixed(0)} s`
    : '';
  return `${head}: ${med('rssMB').toFixed(1)} MB resident after ${formatCount(med('calls'))} calls and ${(med('idleMs') / 1000).toFixed(0)} s idle${paced} (peak ${med('peakMB').toFixed(1)} MB; ${run.rounds.length} rounds)${run.failure ? `; then FAILED (${run.failure})` : ''}`;
}

/** Failures, errors and observer losses worth a line under the scenario. */
function noteLines(run: ScenarioRun): string[] {
  const out = unmeasuredIn(run);
  for (const [v, ms] of Object.entries(run.rounds) as [VariantId, Measurement[]][]) {
    for (const m of ms) {
      if (m.observers?.recordDropped) out.push(`${VARIANT_LABELS[v]} round ${m.round}: recorder dropped ${m.observers.recordDropped} calls`);
      if (m.observers?.spansDropped) out.push(`${VARIANT_LABELS[v]} round ${m.round}: ${m.observers.spansDropped} spans dropped`);
    }
  }
  return out;
}

export function renderTargets(targets: Target[]): string {
  const w = Math.max(...targets.map((t) => t.name.length));
  return targets.map((t) => `  [${t.status === 'met' ? 'met' : t.status === 'not met' ? 'NOT MET' : 'n/a'}] ${pad(t.name, w)}  goal ${t.goal}; measured ${t.measured}`).join('\n');
}
