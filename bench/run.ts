/**
 * `npm run bench`: critap's cost measured beside a direct connection to the same runtime, from
 * the same client processes, in the same run, reported as ratios.
 *
 * Processes: the client pool (client-worker.js ×N), the runtime (fake-upstream-main.js or a real
 * containerd), critap (critap-main.js, a new one per measurement) and an OTLP receiver
 * (otlp-sink-main.js) for the tracing variant. This process only orchestrates.
 */
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { HelpRequested, UsageError } from '../src/cli/args.js';
import { startChild, type Child } from './children.js';
import { startClientPool, type ClientPool } from './client-pool.js';
import { clockTicksPerSecond, findContainerdPid, perCallUs, processCpuSeconds, settleCpu, type CpuReading } from './cpu.js';
import { benchFailures } from './failures.js';
import { floorMissing } from './floor.js';
import { measureIdle, type IdleRun } from './idle-rss.js';
import { HELP, parseBenchArgs, type BenchOptions } from './options.js';
import { startContainerdOrReason } from './real-runtime.js';
import type { RecorderArgs, RecorderFigures } from './recorder-main.js';
import type { ReplayChoiceArgs, ReplayChoiceFigures } from './replay-choice-main.js';
import { renderReplayLoad, runReplayLoad, THIS_DIST, type ReplayLoadRun } from './replay-load.js';
import { HOUR_OF_BIG_NODE } from './big-node.js';
import { renderIdle, renderReplayChoice, renderTable, renderTargets, summarize, summarizeCpu, type Measurement, type RecorderRun, type ReplayChoiceRun, type ScenarioRun } from './report.js';
import { BIG_SIZES, FAKE_LIST_CONTAINERS, scenarios, type Scenario } from './scenarios.js';
import { renderStartup, runStartup } from './startup.js';
import { rotate } from './stats.js';
import { judgeTargets } from './targets.js';
import { REPLAY_VARIANTS, replayMissing, startCritap, startVariant, TRACING_VARIANTS, VARIANT_LABELS, type VariantContext, type VariantId } from './variants.js';

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

interface Upstreams {
  fake?: string;
  fakePid?: number;
  containerd?: string;
  /** containerd's own process (its shims are not counted: Version runs no container). */
  containerdPid?: number;
  containerdSkipped?: string;
}

class Bench {
  private label = 'setup';
  readonly ctx: VariantContext;

  constructor(
    readonly opts: BenchOptions,
    readonly workDir: string,
    readonly pool: ClientPool,
    otlpUrl: string | undefined,
  ) {
    this.ctx = {
      workDir,
      otlpUrl,
      // A folder per measurement and no --cpu-prof-name: with a name, the observer thread's
      // profile and the main thread's were written to the same file, and one was lost.
      critapExecArgv: (name) => (opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(opts.profileDir, `${this.label}-${name}`)] : []),
    };
  }

  /** Cumulative CPU of every process of a measurement: the variant's, the runtime's, the clients'. */
  private cpuReading(running: Awaited<ReturnType<typeof startVariant>>, runtimePid: number | undefined): CpuReading {
    const reading: CpuReading = { ...running.cpu?.() };
    if (runtimePid) reading.runtime = processCpuSeconds(runtimePid);
    reading.client = this.pool.pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
    return reading;
  }

  async measure(def: Scenario, v: VariantId, round: number, upstream: string, runtimePid: number | undefined): Promise<Measurement> {
    this.label = `${def.id}-r${round}`;
    let running: Awaited<ReturnType<typeof startVariant>> | undefined;
    try {
      const started = (running = await startVariant(v, this.ctx, upstream));
      let beforeWarm: CpuReading = {};
      let before: CpuReading = {};
      let after: CpuReading = {};
      let settleMs: number | undefined;
      const job = def.job(running.endpoint);
      let preWarmCalls = 0;
      if (def.preWarm) {
        beforeWarm = this.cpuReading(started, runtimePid);
        const pre = await this.pool.run(def.preWarm(running.endpoint), this.pool.size);
        if (pre.errors > 0 || pre.ok === 0) throw new Error(`pre-warm failed: ${pre.firstError ?? 'no answers'}`);
        preWarmCalls = pre.ok;
        // What the pre-warm left queued (a recorder batch, spans, LevelDB writing) is done before the job starts.
        if (started.cpu) await settleCpu(started.cpu, 'proxy');
      }
      const result = await this.pool.run(job, def.workers, {
        beforeWarm: () => (preWarmCalls > 0 ? undefined : (beforeWarm = this.cpuReading(started, runtimePid))),
        beforeGo: () => (before = this.cpuReading(started, runtimePid)),
        afterResults: () => (after = this.cpuReading(started, runtimePid)),
      });
      // The proxy's work a round left behind (the last recorder batch, queued spans) is part of
      // its cost: its threads are read again once it has gone idle. The runtime and the clients
      // keep their readings at the last answer.
      if (started.cpu) {
        const settled = await settleCpu(started.cpu, 'proxy');
        after = { ...after, ...settled.reading };
        settleMs = settled.waitedMs;
      }
      const observers = await running.stop();
      running = undefined;
      // Per call for unary scenarios (one answer each), per message for streams.
      const cpuUsPerCall = perCallUs(before, after, result.messages);
      // What the warm-up calls cost the proxy: a fresh critap's V8 compiles its hot paths on
      // helper threads during its first tens of thousands of calls (see scenarios.ts). Not for
      // a warm-up of a few calls (smoke mode, the big-answer scenarios): 10 ms ticks over them are noise.
      const warmCalls = preWarmCalls + (job.kind === 'unary' ? job.warmup : 0);
      const warm = job.kind === 'unary' && warmCalls >= 1000 ? perCallUs(beforeWarm, before, warmCalls).proxy : undefined;
      if (warm !== undefined) cpuUsPerCall.proxyWarmup = warm;
      return { round, figures: def.figures(result, observers), observers, cpuUsPerCall, settleMs, ok: result.ok, errors: result.errors, firstError: result.firstError };
    } catch (err) {
      await running?.stop().catch(() => undefined);
      return { round, failure: (err as Error).message.split('\n')[0] };
    }
  }

  /** Records a few rounds of the scenario's calls through critap, for replay to serve. */
  async recordForReplay(def: Scenario, upstream: string): Promise<string> {
    this.label = `${def.id}-make-recording`;
    const running = await startCritap(this.ctx, upstream, { record: true, name: 'record' });
    try {
      const job = def.job(running.endpoint);
      const small = job.kind === 'unary' ? { ...job, calls: Math.min(job.calls, 50), inFlight: Math.min(job.inFlight, 8) } : { ...job, streams: 1 };
      const r = await this.pool.run(small, 1);
      if (r.errors) throw new Error(`critap: recording for replay failed: ${r.firstError}`);
    } finally {
      await running.stop();
    }
    return running.recordDir!;
  }

  async runScenario(def: Scenario, ups: Upstreams, replayReason: string | undefined): Promise<ScenarioRun> {
    const variants = def.variants.filter((v) => this.opts.variants.includes(v));
    const run: ScenarioRun = { id: def.id, title: def.title, upstream: def.upstream, metrics: def.metrics, variants, missing: {}, rounds: {} };
    const upstream = def.upstream === 'fake' ? ups.fake : ups.containerd;
    const runtimePid = def.upstream === 'fake' ? ups.fakePid : ups.containerdPid;
    if (!upstream) {
      run.skipped = ups.containerdSkipped ?? 'no runtime';
      log(`${def.id}: skipped (${run.skipped})`);
      return run;
    }
    const replays = variants.filter((v) => REPLAY_VARIANTS.includes(v));
    if (replays.length > 0) {
      let why = replayReason;
      if (!why) {
        try {
          this.ctx.replayRecording = await this.recordForReplay(def, upstream);
        } catch (err) {
          why = (err as Error).message;
        }
      }
      if (why) for (const v of replays) run.missing[v] = why;
    }
    const noFloor = variants.includes('floor') ? floorMissing() : undefined;
    if (noFloor) run.missing.floor = noFloor;
    const active = variants.filter((v) => !run.missing[v]);
    const rounds = this.opts.smoke ? this.opts.rounds : Math.max(this.opts.rounds, def.minRounds ?? 0);
    for (let r = 1; r <= rounds; r++) {
      // A B C … then B C … A: every variant takes every position, so drift and warm-up order cancel.
      for (const v of rotate(active, r - 1)) {
        const m = await this.measure(def, v, r, upstream, runtimePid);
        (run.rounds[v] ??= []).push(m);
        const shown = m.failure ? `FAILED ${m.failure}` : def.metrics.map((k) => `${k.id}=${fmt(m.figures?.[k.id])}`).join(' ');
        const cpu = Object.entries(m.cpuUsPerCall ?? {}).map(([part, us]) => `${part}=${fmt(us)}`).join(' ');
        log(`${def.id} round ${r}/${rounds} ${VARIANT_LABELS[v]}: ${shown}${cpu ? `; CPU µs/call ${cpu}` : ''}${m.errors ? ` (${m.errors} errors: ${m.firstError})` : ''}`);
      }
    }
    if (this.ctx.replayRecording) await rm(this.ctx.replayRecording, { recursive: true, force: true });
    this.ctx.replayRecording = undefined;
    return run;
  }

  async runIdle(upstream: string | undefined): Promise<IdleRun> {
    const out: IdleRun = { rounds: [] };
    if (!upstream) return { rounds: [], failure: 'no runtime to call' };
    if (!this.ctx.otlpUrl) return { rounds: [], failure: 'no OTLP receiver' };
    // 10 calls a second: a kubelet with a few pods (one pod's kubelet makes about 5).
    const opts = { calls: this.opts.smoke ? 20 : 200, idleMs: this.opts.smoke ? 1000 : 5000, paceEveryMs: 100, paceForMs: this.opts.smoke ? 1000 : 30_000 };
    for (let r = 1; r <= this.opts.rounds; r++) {
      this.label = `idle-rss-r${r}`;
      try {
        const f = await measureIdle(this.pool, this.ctx, upstream, opts);
        out.rounds.push(f);
        log(`idle-rss round ${r}/${this.opts.rounds}: ${f.rssMB.toFixed(1)} MB resident after ${f.calls} calls and ${f.idleMs} ms idle, ${f.pacedRssMB?.toFixed(1) ?? '—'} MB after ${f.pacedCalls ?? 0} calls at 10/s (peak ${f.peakMB.toFixed(1)} MB)`);
      } catch (err) {
        out.failure = (err as Error).message;
        break;
      }
    }
    return out;
  }

  async runReplayChoice(): Promise<ReplayChoiceRun> {
    const out: ReplayChoiceRun = { rounds: [] };
    const args: ReplayChoiceArgs = { calls: this.opts.smoke ? 5000 : 100_000 };
    for (let r = 1; r <= this.opts.rounds; r++) {
      try {
        const { child, ready } = await startChild('replay-choice-main.js', args, { label: 'replay-choice', readyTimeoutMs: 300_000 });
        child.kill();
        const f = ready.figures as ReplayChoiceFigures;
        out.rounds.push(f);
        log(`replay-choice round ${r}/${this.opts.rounds}: state ${f.meanUsState.toFixed(1)} µs/call (p99 ${f.p99UsState.toFixed(0)}), no state ${f.meanUsNoState.toFixed(1)} µs/call, new lives ${f.meanUsStateNewLives.toFixed(1)} µs/call (p99 ${f.p99UsStateNewLives.toFixed(0)})`);
      } catch (err) {
        out.failure = (err as Error).message;
        break;
      }
    }
    return out;
  }

  async runRecorder(): Promise<RecorderRun> {
    const out: RecorderRun = { rounds: [] };
    const args: RecorderArgs = { workDir: this.workDir, calls: this.opts.smoke ? 2000 : 100_000, pacedRate: 20_000 };
    for (let r = 1; r <= this.opts.rounds; r++) {
      try {
        const { child, ready } = await startChild('recorder-main.js', args, { label: 'recorder', readyTimeoutMs: 300_000 });
        child.kill();
        const f = ready.figures as RecorderFigures;
        out.rounds.push(f);
        log(`recorder round ${r}/${this.opts.rounds}: ${Math.round(f.callsPerSec)} calls/s, dropped ${f.capacityDropped}+${f.pacedDropped}`);
      } catch (err) {
        out.failure = (err as Error).message;
        break;
      }
    }
    return out;
  }
}

/** `critap replay` starting on an hour of a busy node (bench/replay-load.ts); this build only. */
async function replayStartup(opts: BenchOptions): Promise<ReplayLoadRun> {
  const shape = opts.smoke ? { seconds: 30, pods: 20, statsEvery: 10, restartEvery: 15 } : HOUR_OF_BIG_NODE;
  const runs = await runReplayLoad(shape, opts.rounds, [{ label: 'this', dist: THIS_DIST }], log);
  return runs.get('this')!;
}

const fmt = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : n >= 100 ? n.toFixed(0) : n.toPrecision(3));

function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    memoryMB: Math.round(os.totalmem() / 1e6),
    loadAverage: os.loadavg(),
    date: new Date().toISOString(),
  };
}

async function main(argv: string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(HELP);
      return 0;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`critap: bench: ${err.message}\nRun 'npm run bench -- --help' for usage.\n`);
      return 2;
    }
    throw err;
  }
  const all = scenarios({ smoke: opts.smoke, clients: opts.clients });
  const known = [...all.map((s) => s.id), 'recorder', 'replay-choice', 'replay-load', 'idle-rss', 'cli-startup'];
  for (const id of opts.only ?? []) {
    if (!known.includes(id)) {
      process.stderr.write(`critap: bench: unknown scenario "${id}"; scenarios: ${known.join(', ')}\n`);
      return 2;
    }
  }
  const chosen = all.filter((s) => !opts.only || opts.only.includes(s.id));
  const runRecorder = !opts.only || opts.only.includes('recorder');
  const runReplayChoice = !opts.only || opts.only.includes('replay-choice');
  const runReplayStartup = !opts.only || opts.only.includes('replay-load');
  const runIdle = !opts.only || opts.only.includes('idle-rss');
  const runCliStartup = !opts.only || opts.only.includes('cli-startup');
  const machineInfo = machine();
  const workDir = await mkdtemp(join(os.tmpdir(), 'critap-bench-'));
  const children: Child[] = [];
  let pool: ClientPool | undefined;
  let stopContainerd: (() => Promise<void>) | undefined;
  try {
    log(`${machineInfo.cores} cores (${machineInfo.model}), node ${machineInfo.node}, ${opts.rounds} round(s)${opts.smoke ? ', smoke counts' : ''}`);
    pool = await startClientPool(opts.clients);
    const ups: Upstreams = {};
    if (runIdle || chosen.some((s) => s.upstream === 'fake')) {
      const { child, ready } = await startChild('fake-upstream-main.js', { socketPath: join(workDir, 'fake-runtime.sock'), listContainers: FAKE_LIST_CONTAINERS, execSizes: BIG_SIZES }, { label: 'fake runtime' });
      children.push(child);
      ups.fake = String(ready.endpoint);
      ups.fakePid = child.pid;
    }
    let otlpUrl: string | undefined;
    let otlp: Child | undefined;
    if (runIdle || opts.variants.some((v) => TRACING_VARIANTS.includes(v))) {
      const { child, ready } = await startChild('otlp-sink-main.js', {}, { label: 'OTLP receiver' });
      children.push(child);
      otlp = child;
      otlpUrl = String(ready.url);
    }
    if (chosen.some((s) => s.upstream === 'containerd')) {
      log('starting containerd (test/support/runtime.ts)…');
      const rt = await startContainerdOrReason(opts.containerd);
      if (rt.runtime) {
        ups.containerd = rt.runtime.endpoint;
        ups.containerdPid = findContainerdPid(rt.runtime.dir);
        if (!ups.containerdPid) log('containerd\'s pid not found: its CPU is not reported');
        stopContainerd = () => rt.runtime!.stop();
      } else ups.containerdSkipped = rt.skipped;
    }
    const replayReason = opts.variants.some((v) => REPLAY_VARIANTS.includes(v)) ? replayMissing() : undefined;
    const bench = new Bench(opts, workDir, pool, otlpUrl);
    const runs: ScenarioRun[] = [];
    for (const def of chosen) runs.push(await bench.runScenario(def, ups, replayReason));
    const recorder = runRecorder ? await bench.runRecorder() : undefined;
    const replayChoice = runReplayChoice ? await bench.runReplayChoice() : undefined;
    const replayLoad = runReplayStartup ? await replayStartup(opts) : undefined;
    const idle = runIdle ? await bench.runIdle(ups.fake) : undefined;
    const startup = runCliStartup ? await runStartup({ smoke: opts.smoke, log }) : undefined;
    const otlpCounts = otlp ? await (otlp.send({ type: 'counts' }), otlp.next<{ requests: number; bytes: number }>('counts', 5000)).catch(() => undefined) : undefined;

    const targets = judgeTargets(runs, recorder, opts.smoke, replayChoice, idle);
    const failures = benchFailures({ runs, recorder, replayChoice, replayLoad, idle, startup });
    const shownVariants = opts.variants.filter((v) => runs.some((r) => r.variants.includes(v)));
    process.stdout.write(`\ncritap benchmark — ${machineInfo.cores} cores ${machineInfo.model}, node ${machineInfo.node}, ${machineInfo.date}, ${opts.rounds} round(s)${opts.smoke ? ' (SMOKE: tiny counts, figures mean nothing)' : ''}\n\n`);
    process.stdout.write(renderTable(runs, recorder, shownVariants) + '\n');
    if (replayChoice) process.stdout.write(renderReplayChoice(replayChoice) + '\n');
    if (replayLoad) process.stdout.write(renderReplayLoad(replayLoad) + '\n');
    if (idle) process.stdout.write(renderIdle(idle) + '\n');
    if (startup) process.stdout.write('\n' + renderStartup(startup) + '\n');
    process.stdout.write('\n');
    process.stdout.write('Targets (reported, never failing the run):\n' + renderTargets(targets) + '\n');
    if (otlpCounts) process.stdout.write(`\nOTLP receiver got ${otlpCounts.requests} export requests, ${(otlpCounts.bytes / 1e6).toFixed(1)} MB of spans.\n`);
    if (opts.json) {
      const doc = {
        machine: machineInfo,
        options: opts,
        setup: {
          client: `${opts.clients} client worker processes, 1 connection each; latency scenarios use 1 worker; each scenario's job names its client (h2: bench/h2-load, or grpc-js)`,
          tracing: 'spans exported over OTLP/gRPC to a running local receiver process that answers OK without decoding',
          critap: 'a new critap process (bench/critap-main.js → startProxy) per measurement',
          floor: 'socat -b 65536 UNIX-LISTEN:<sock>,fork,reuseaddr UNIX-CONNECT:<runtime> (bench/floor.ts), a new one per measurement',
          nodePipe: 'a Node.js process piping each accepted unix connection to its own runtime connection with stream.pipe (bench/node-pipe-main.ts): the floor of any proxy written in Node, a new one per measurement',
          cpu: `µs of CPU per call (per message for streams) from /proc/<pid>/stat and /proc/<pid>/task/<tid>/stat (utime+stime, ${clockTicksPerSecond()} ticks/s), read just before go and just after the last answer (the proxy's once it has gone idle, up to 3 s later: work a round left behind counts): proxy = the process between client and runtime (socat: with its per-connection children), critap split by thread (main, observer, other), runtime = the fake runtime's or containerd's own process (no shims: Version runs no container), client = all client workers; proxyWarmup = the proxy over the warm-up calls before go (read when the workers got their job), per warm-up call`,
          otlpReceiver: otlpCounts,
        },
        scenarios: runs.map((run) => ({
          ...run,
          summary: Object.fromEntries(
            run.variants
              .filter((v) => !run.missing[v] && !run.skipped)
              .map((v) => [v, { ...Object.fromEntries(run.metrics.map((m) => [m.id, summarize(run, v, m.id)])), cpuUsPerCall: summarizeCpu(run, v) }]),
          ),
        })),
        recorder,
        replayChoice,
        replayLoad,
        idle,
        startup,
        targets,
        failures,
      };
      await writeFile(opts.json, JSON.stringify(doc, null, 2) + '\n');
      process.stdout.write(`\nFigures written to ${opts.json}\n`);
    }
    if (failures.length > 0) {
      process.stdout.write(`\nNot measured (exit 1):\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
      return 1;
    }
    return 0;
  } finally {
    await pool?.close().catch(() => undefined);
    for (const c of children) await c.stop(5000).catch(() => c.kill());
    await stopContainerd?.().catch((err: Error) => log(`stopping containerd: ${err.message}`));
    await rm(workDir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`critap: bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env['CRITAP_DEBUG']) console.error(err);
    process.exit(1);
  },
);
