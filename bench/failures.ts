/**
 * What the benchmark could not measure: a runtime or variant it could not start, a round that
 * failed, calls that failed, a part that did not run. Each makes `npm run bench` (and its
 * `--smoke`, which CI runs to prove the benchmark works) exit 1 after printing its tables.
 * Targets met or not never do: they are measurements, not pass/fail. Neither do spans or calls
 * the observers dropped under saturation: that is bounded memory working, reported beside.
 */
import type { IdleRun } from './idle-rss.js';
import type { ReplayLoadRun } from './replay-load.js';
import type { Measurement, RecorderRun, ReplayChoiceRun, ScenarioRun } from './report.js';
import type { StartupRun } from './startup.js';
import { VARIANT_LABELS, type VariantId } from './variants.js';

export interface BenchParts {
  runs: ScenarioRun[];
  recorder?: RecorderRun;
  replayChoice?: ReplayChoiceRun;
  replayLoad?: ReplayLoadRun;
  idle?: IdleRun;
  startup?: StartupRun;
}

/** What one scenario could not measure, one line each, in the words of its report and of "Not measured". */
export function unmeasuredIn(run: ScenarioRun): string[] {
  const out: string[] = [];
  for (const [v, why] of Object.entries(run.missing)) out.push(`${VARIANT_LABELS[v as VariantId]}: not run (${why})`);
  for (const [v, ms] of Object.entries(run.rounds) as [VariantId, Measurement[]][]) {
    for (const m of ms) {
      if (m.failure) out.push(`${VARIANT_LABELS[v]} round ${m.round}: ${m.failure}`);
      else if (m.errors) out.push(`${VARIANT_LABELS[v]} round ${m.round}: ${m.errors} calls failed (${m.firstError ?? 'no message'})`);
    }
  }
  return out;
}

export function benchFailures(parts: BenchParts): string[] {
  const out: string[] = [];
  for (const run of parts.runs) {
    if (run.skipped) out.push(`${run.id}: not run (${run.skipped})`);
    for (const line of unmeasuredIn(run)) out.push(`${run.id} ${line}`);
  }
  const whole: [string, { failure?: string } | undefined][] = [
    ['recorder', parts.recorder],
    ['replay-choice', parts.replayChoice],
    ['replay-load', parts.replayLoad],
    ['idle-rss', parts.idle],
  ];
  for (const [id, part] of whole) if (part?.failure) out.push(`${id}: ${part.failure}`);
  for (const c of parts.startup?.commands ?? []) if (c.failure) out.push(`cli-startup ${c.label}: ${c.failure}`);
  return out;
}
