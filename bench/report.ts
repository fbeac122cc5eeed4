/**
 * Turns per-round measurements into medians, per-round ratios to direct, the stdout table,
 * the target verdicts and the JSON document.
 */
import type { RecorderFigures } from './recorder-main.js';
import type { ReplayChoiceFigures } from './replay-choice-main.js';
import type { MetricDef } from './scenarios.js';
import { formatCount, median, roundRatios } from './stats.js';
import { VARIANT_LABELS, type VariantFigures, type VariantId } from './variants.js';

export interface Measurement {
  round: number;
  figures?: Record<string, number | undefined>;
  observers?: VariantFigures;
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
}

export function summarize(run: ScenarioRun, variant: VariantId, metric: string): MetricSummary {
  const values = (run.rounds[variant] ?? []).map((m) => m.figures?.[metric]);
  const direct = (run.rounds.direct ?? []).map((m) => m.figures?.[metric]);
  const ratios = roundRatios(values, direct);
  const present = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return { values, median: median(present), ratiosToDirect: ratios, medianRatio: median(ratios) };
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

export function renderTable(runs: ScenarioRun[], recorder: RecorderRun | undefined, variants: VariantId[]): string {
  const labelW = 58;
  const cellW = 19;
  const lines: string[] = [];
  lines.push(pad('scenario / figure (median; ×direct = median of per-round ratios)', labelW) + variants.map((v) => padL(VARIANT_LABELS[v], cellW)).join(''));
  lines.push('-'.repeat(labelW + cellW * variants.length));
  for (const run of runs) {
    lines.push(run.title + (run.skipped ? `: SKIPPED (${run.skipped})` : ''));
    if (run.skipped) continue;
    for (const metric of run.metrics) {
      const cells = variants.map((v) => {
        if (!run.variants.includes(v)) return padL('—', cellW);
        if (run.missing[v]) return padL('missing', cellW);
        const ms = run.rounds[v] ?? [];
        if (ms.length && ms.every((m) => m.failure)) return padL('FAILED', cellW);
        const s = summarize(run, v, metric.id);
        const ratio = v === 'direct' ? '' : ` ${fmtRatio(s.medianRatio)}`;
        return padL(`${formatCount(s.median)}${ratio}`, cellW);
      });
      lines.push(pad(`  ${metric.label === metric.unit ? metric.label : `${metric.label} (${metric.unit})`}`, labelW) + cells.join(''));
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

/** Failures, errors and observer losses worth a line under the scenario. */
function noteLines(run: ScenarioRun): string[] {
  const out: string[] = [];
  for (const [v, why] of Object.entries(run.missing)) out.push(`${VARIANT_LABELS[v as VariantId]} missing: ${why}`);
  for (const [v, ms] of Object.entries(run.rounds) as [VariantId, Measurement[]][]) {
    for (const m of ms) {
      if (m.failure) out.push(`${VARIANT_LABELS[v]} round ${m.round}: ${m.failure}`);
      else if (m.errors) out.push(`${VARIANT_LABELS[v]} round ${m.round}: ${m.errors} failed calls (${m.firstError})`);
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
