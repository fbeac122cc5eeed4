/** The benchmark issue's targets, judged from the figures. A verdict never fails the run. */
import type { IdleRun } from './idle-rss.js';
import { summarize, summarizeCpu, type RecorderRun, type ReplayChoiceRun, type ScenarioRun, type Target } from './report.js';
import { median } from './stats.js';
import { VARIANT_LABELS, type VariantId } from './variants.js';

const x = (r: number, base = 'direct') => (Number.isFinite(r) ? `${r.toFixed(2)}× ${base}` : 'nothing');
/** The lowest and highest of the rounds' ratios ("0.80–1.00"), when at least two are usable: how far one round can be from another. */
function roundRange(ratios: number[]): string | undefined {
  const usable = ratios.filter((r) => Number.isFinite(r) && r > 0);
  return usable.length < 2 ? undefined : `${Math.min(...usable).toFixed(2)}–${Math.max(...usable).toFixed(2)}`;
}

/** The median ratio, with the rounds' range beside it. */
function spread(median: number, ratios: number[], base: string): string {
  const range = roundRange(ratios);
  return range === undefined ? x(median, base) : `${x(median, base)} (rounds ${range})`;
}

function usable(run: ScenarioRun | undefined, v: VariantId): boolean {
  return Boolean(run && !run.skipped && !run.missing[v] && run.variants.includes(v) && (run.rounds[v] ?? []).some((m) => !m.failure));
}

function ratioTarget(run: ScenarioRun | undefined, v: VariantId, metric: string, name: string, goal: string, ok: (r: number) => boolean, why: string): Target {
  if (!usable(run, v)) return { name, goal, measured: run?.skipped ?? run?.missing[v] ?? why, status: 'not measured' };
  const sum = summarize(run!, v, metric);
  const r = sum.medianRatio;
  return { name, goal, measured: spread(r, sum.ratiosToDirect, 'direct'), status: Number.isFinite(r) && ok(r) ? 'met' : 'not met' };
}

/** The same, against the floor variant (socat) of the same rounds. */
function floorTarget(run: ScenarioRun | undefined, v: VariantId, metric: string, name: string, goal: string, ok: (r: number) => boolean): Target {
  for (const need of ['floor', v] as VariantId[]) {
    if (!usable(run, need)) return { name, goal, measured: run?.skipped ?? run?.missing[need] ?? `${VARIANT_LABELS[need]} not run`, status: 'not measured' };
  }
  const sum = summarize(run!, v, metric);
  const r = sum.medianRatioToFloor;
  return { name, goal, measured: spread(r, sum.ratiosToFloor, 'floor'), status: Number.isFinite(r) && ok(r) ? 'met' : 'not met' };
}

/** critap's CPU per call (all threads) with recording and tracing, beside containerd's own when answered directly. */
function cpuTarget(run: ScenarioRun | undefined, name: string): Target {
  const goal = "≤ containerd's own CPU per Version call (direct, same run)";
  for (const need of ['direct', 'record-trace'] as VariantId[]) {
    if (!usable(run, need)) return { name, goal, measured: run?.skipped ?? run?.missing[need] ?? `${VARIANT_LABELS[need]} not run`, status: 'not measured' };
  }
  const critap = summarizeCpu(run!, 'record-trace').proxy;
  const containerd = summarizeCpu(run!, 'direct').runtime;
  if (critap === undefined || containerd === undefined || !(containerd > 0)) return { name, goal, measured: 'CPU not readable', status: 'not measured' };
  // Round by round: critap's CPU in a round against containerd's in the direct measurement of the same round.
  const direct = run!.rounds.direct ?? [];
  const perRound = (run!.rounds['record-trace'] ?? []).map((m, i) => (m.cpuUsPerCall?.proxy ?? NaN) / (direct[i]?.cpuUsPerCall?.runtime ?? NaN));
  const range = roundRange(perRound);
  return {
    name,
    goal,
    measured: `critap ${critap.toFixed(1)} µs vs containerd ${containerd.toFixed(1)} µs per call (${(critap / containerd).toFixed(2)}×${range === undefined ? '' : `; rounds ${range}×`})`,
    status: critap <= containerd ? 'met' : 'not met',
  };
}

export function judgeTargets(runs: ScenarioRun[], recorder: RecorderRun | undefined, smoke: boolean, replayChoice?: ReplayChoiceRun, idle?: IdleRun): Target[] {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const targets: Target[] = [];
  for (const up of ['containerd', 'fake'] as const) {
    targets.push(
      floorTarget(byId.get(`${up}-version-latency`), 'bare', 'p50Us', `bare p50 latency vs socat, 1 in flight (${up})`, '≤ 1.10× floor', (r) => r <= 1.1),
      floorTarget(byId.get(`${up}-version-throughput`), 'bare', 'callsPerSec', `bare calls/s vs socat, 64 in flight (${up})`, '≥ 0.95× floor', (r) => r >= 0.95),
    );
  }
  targets.push(
    cpuTarget(byId.get('containerd-version-latency'), 'rec+tracing CPU per call vs containerd, 1 in flight'),
    cpuTarget(byId.get('containerd-version-throughput'), 'rec+tracing CPU per call vs containerd, 64 in flight'),
  );
  for (const up of ['containerd', 'fake'] as const) {
    targets.push(
      ratioTarget(byId.get(`${up}-version-latency`), 'record-trace', 'p50Us', `rec+tracing p50 latency, 1 in flight (${up})`, '≤ 1.35× direct', (r) => r <= 1.35, 'scenario not run'),
      ratioTarget(byId.get(`${up}-version-throughput`), 'record-trace', 'callsPerSec', `rec+tracing calls/s, 64 in flight (${up})`, '≥ 0.90× direct', (r) => r >= 0.9, 'scenario not run'),
    );
  }
  {
    const name = 'recording alone';
    const goal = '≥ 20 000 calls/s, 0 dropped';
    if (!recorder || recorder.failure || recorder.rounds.length === 0) {
      targets.push({ name, goal, measured: recorder?.failure ?? 'not run', status: 'not measured' });
    } else {
      const rates = recorder.rounds.map((r) => r.callsPerSec).sort((a, b) => a - b);
      const med = rates[Math.floor((rates.length - 1) / 2)]!;
      const dropped = recorder.rounds.reduce((a, r) => a + r.capacityDropped + r.pacedDropped, 0);
      targets.push({ name, goal, measured: `${Math.round(med)} calls/s, ${dropped} dropped`, status: med >= 20_000 && dropped === 0 ? 'met' : 'not met' });
    }
  }
  targets.push(
    ratioTarget(byId.get('containerd-version-throughput'), 'replay', 'callsPerSec', 'replay calls/s vs containerd (64 in flight)', '≥ 1.5× containerd', (r) => r >= 1.5, 'scenario not run'),
  );
  {
    const name = "replay's answer choice, 100 000-call recording, state on";
    const goal = 'p99 ≤ 250 µs per call, well under 1 ms (recorded and new lives)';
    if (!replayChoice || replayChoice.failure || replayChoice.rounds.length === 0) {
      targets.push({ name, goal, measured: replayChoice?.failure ?? 'not run', status: 'not measured' });
    } else {
      const p99 = Math.max(...replayChoice.rounds.flatMap((r) => [r.p99UsState, r.p99UsStateNewLives]));
      targets.push({ name, goal, measured: `worst p99 ${p99.toFixed(0)} µs over ${replayChoice.rounds.length} rounds`, status: p99 <= 250 ? 'met' : 'not met' });
    }
  }
  {
    const run = byId.get('fake-exec-64mib');
    const name = '64 MiB messages pass';
    const goal = 'every call OK through every critap variant';
    const proxied = (['bare', 'record', 'record-trace'] as VariantId[]).filter((v) => usable(run, v));
    if (!run || proxied.length === 0) targets.push({ name, goal, measured: run?.skipped ?? 'not run', status: 'not measured' });
    else {
      const bad = proxied.flatMap((v) => (run!.rounds[v] ?? []).filter((m) => m.failure || m.errors || !m.ok).map(() => VARIANT_LABELS[v]));
      const calls = proxied.reduce((a, v) => a + (run!.rounds[v] ?? []).reduce((b, m) => b + (m.ok ?? 0), 0), 0);
      targets.push({ name, goal, measured: bad.length ? `failures in: ${[...new Set(bad)].join(', ')}` : `${calls} calls OK`, status: bad.length ? 'not met' : 'met' });
    }
  }
  {
    const run = byId.get('fake-exec-8mib');
    for (const v of ['bare', 'record', 'record-trace'] as VariantId[]) {
      const name = `critap peak RSS, 8 MiB calls in flight (${VARIANT_LABELS[v]})`;
      const goal = smoke ? '≤ 150 MB (smoke: only 8 in flight)' : '≤ 150 MB with 64 in flight';
      if (!usable(run, v)) {
        targets.push({ name, goal, measured: run?.skipped ?? run?.missing[v] ?? 'not run', status: 'not measured' });
        continue;
      }
      const peaks = (run!.rounds[v] ?? []).map((m) => m.figures?.peakRssMB).filter((p): p is number => p !== undefined);
      const peak = Math.max(...peaks);
      targets.push({ name, goal, measured: peaks.length ? `max ${peak.toFixed(0)} MB over ${peaks.length} rounds` : 'RSS unreadable', status: peaks.length === 0 ? 'not measured' : peak <= 150 ? 'met' : 'not met' });
    }
  }
  {
    const name = 'critap idle RSS, recording + tracing on';
    const goal = '≤ 80 MB';
    if (!idle || idle.rounds.length === 0) targets.push({ name, goal, measured: idle?.failure ?? 'not run', status: 'not measured' });
    else {
      // Judged where critap settles at a quiet kubelet's pace (bench/idle-rss.ts says why); the figure
      // 5 s after the burst is shown beside it.
      const afterBurst = median(idle.rounds.map((r) => r.rssMB));
      const pacedRounds = idle.rounds.map((r) => r.pacedRssMB).filter((v): v is number => v !== undefined);
      const rss = pacedRounds.length ? median(pacedRounds) : afterBurst;
      const measured = pacedRounds.length
        ? `${rss.toFixed(1)} MB at 10 calls/s (${afterBurst.toFixed(1)} MB 5 s after the burst; median of ${idle.rounds.length} rounds)`
        : `${rss.toFixed(1)} MB 5 s after the burst (median of ${idle.rounds.length} rounds)`;
      targets.push({ name, goal, measured, status: rss <= 80 ? 'met' : 'not met' });
    }
  }
  return targets;
}
