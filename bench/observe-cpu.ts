/**
 * `node dist/bench/observe-cpu.js [flags]`: critap's CPU per call, per thread, with and without
 * observers, for one or more builds of critap side by side in the same run (e.g. the revision
 * before a change, built in another folder, and this one). CPU is read from /proc (see
 * thread-cpu.ts), so the figure holds on a shared machine where calls/s does not.
 *
 * Processes: the fake runtime, an OTLP receiver, the client pool (all from this build), and a
 * new critap process per measurement, started from the build under test (its
 * dist/bench/critap-main.js). Variants and builds are interleaved, rotating every round.
 *
 * Flags: --builds LABEL=DIST,… (default: this build), --variants bare,record,trace,record-trace,
 * --exec-argv 'LABEL=FLAGS;…' (node flags for one build's critap), --calls N, --in-flight N,
 * --warmup N (calls before each measured round, default 30000: a fresh critap compiles its hot paths for its first ~25 000 calls), --rounds N, --profile DIR (node
 * --cpu-prof, one profile per thread).
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs, intFlag, HelpRequested, UsageError } from '../src/cli/args.js';
import { startChild, type Child } from './children.js';
import { startClientPool, type ClientPool } from './client-pool.js';
import type { CritapArgs } from './critap-main.js';
import { BIG_SIZES, FAKE_LIST_CONTAINERS } from './scenarios.js';
import { VERSION_PATH, versionRequest } from './fixtures.js';
import { median, rotate } from './stats.js';
import { processCpuSeconds, settleCpu } from './cpu.js';
import { cpuBetween, splitThreads, threadCpu } from './thread-cpu.js';

type Variant = 'bare' | 'record' | 'trace' | 'record-trace';
const VARIANTS: Variant[] = ['bare', 'record', 'trace', 'record-trace'];

interface Build {
  label: string;
  /** A dist/ folder holding bench/critap-main.js. */
  dist: string;
  /** Node/V8 flags for this build's critap process (--exec-argv), e.g. to compare GC settings. */
  execArgv: string[];
}

interface Sample {
  build: string;
  variant: Variant;
  round: number;
  calls: number;
  callsPerSec: number;
  /** µs of CPU per call. */
  main: number;
  /** The busiest thread other than the main one: the observer thread when there is one. */
  busiestOther: number;
  rest: number;
  total: number;
  runtime: number;
  spansDropped?: number;
  recordDropped?: number;
}

const log = (msg: string) => process.stderr.write(`observe-cpu: ${msg}\n`);

const USAGE = `usage: node dist/bench/observe-cpu.js [--builds LABEL=DIST,…] [--variants ${VARIANTS.join(',')}]
       [--calls N (20000)] [--in-flight N (64)] [--warmup N (30000)] [--rounds N (3)] [--profile DIR]
critap's CPU per Version call, per thread, for each build and variant, against the fake runtime.
`;

function parse(argv: string[]) {
  const { values } = parseCommandArgs(argv, {
    builds: { type: 'string' },
    variants: { type: 'string' },
    calls: { type: 'string' },
    'in-flight': { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    profile: { type: 'string' },
    'exec-argv': { type: 'string' },
  });
  const here = fileURLToPath(new URL('../', import.meta.url));
  const builds: Build[] = (values.builds ?? `this=${here}`).split(',').map((spec) => {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new UsageError(`--builds wants LABEL=DIST,…, got "${spec}"`);
    return { label: spec.slice(0, eq), dist: resolve(spec.slice(eq + 1)), execArgv: [] as string[] };
  });
  // --exec-argv 'LABEL=--flag --flag2;LABEL2=…': the same dist can run as two builds with different flags.
  for (const spec of (values['exec-argv'] ?? '').split(';').filter(Boolean)) {
    const eq = spec.indexOf('=');
    const build = builds.find((b) => b.label === spec.slice(0, eq));
    if (eq <= 0 || !build) throw new UsageError(`--exec-argv wants LABEL=FLAGS;… naming a build of --builds, got "${spec}"`);
    build.execArgv = spec.slice(eq + 1).split(' ').filter(Boolean);
  }
  const variants = (values.variants ?? 'bare,record-trace').split(',') as Variant[];
  for (const v of variants) if (!VARIANTS.includes(v)) throw new UsageError(`unknown variant "${v}"; variants: ${VARIANTS.join(', ')}`);
  return { builds, variants, calls: intFlag('calls', values.calls, 20_000), inFlight: intFlag('in-flight', values['in-flight'], 64), warmup: intFlag('warmup', values.warmup, 30_000), rounds: intFlag('rounds', values.rounds, 3), profileDir: values.profile };
}

/** critap-main.js of another build, with the same IPC protocol as children.ts. */
async function startCritapFrom(build: Build, args: CritapArgs, execArgv: string[]): Promise<{ pid: number; endpoint: string; stop(): Promise<Record<string, unknown>> }> {
  const proc = fork(join(build.dist, 'bench', 'critap-main.js'), [JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const messages: Array<Record<string, unknown>> = [];
  let wake: (() => void) | undefined;
  proc.on('message', (m: Record<string, unknown>) => (messages.push(m), wake?.()));
  const exited = new Promise<void>((r) => proc.once('exit', () => (wake?.(), r())));
  const next = async (type: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const i = messages.findIndex((m) => m.type === type || m.type === 'error');
      if (i >= 0) {
        const m = messages.splice(i, 1)[0]!;
        if (m.type === 'error') throw new Error(`critap (${build.label}) failed: ${String(m.message)}`);
        return m;
      }
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`critap (${build.label}) exited before "${type}"`);
      await new Promise<void>((r) => (wake = r));
    }
  };
  const ready = await next('ready');
  return {
    pid: proc.pid!,
    endpoint: String(ready.endpoint),
    async stop() {
      proc.send({ type: 'stop' });
      const figures = await next('stopped');
      await exited;
      return figures;
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const opts = parse(argv);
  const workDir = await mkdtemp(join(os.tmpdir(), 'critap-observe-cpu-'));
  const children: Child[] = [];
  let pool: ClientPool | undefined;
  try {
    pool = await startClientPool(2);
    const fake = await startChild('fake-upstream-main.js', { socketPath: join(workDir, 'fake.sock'), listContainers: FAKE_LIST_CONTAINERS, execSizes: BIG_SIZES }, { label: 'fake runtime' });
    children.push(fake.child);
    const otlp = await startChild('otlp-sink-main.js', {}, { label: 'OTLP receiver' });
    children.push(otlp.child);
    const upstream = String(fake.ready.endpoint);
    const request = versionRequest().toString('base64');
    const job = (endpoint: string, calls: number) =>
      ({ kind: 'unary', client: 'h2', endpoint, path: VERSION_PATH, request, inFlight: opts.inFlight, connections: 1, calls, warmup: 0, latencies: false }) as const;
    const combos = opts.builds.flatMap((b) => opts.variants.map((v) => ({ b, v })));
    const samples: Sample[] = [];
    let seq = 0;
    for (let round = 1; round <= opts.rounds; round++) {
      for (const { b, v } of rotate(combos, round - 1)) {
        seq++;
        const args: CritapArgs = {
          listen: `unix://${join(workDir, `critap-${seq}.sock`)}`,
          upstream,
          recordDir: v === 'record' || v === 'record-trace' ? join(workDir, `rec-${seq}`) : undefined,
          otlpEndpoint: v === 'trace' || v === 'record-trace' ? String(otlp.ready.url) : undefined,
        };
        // --cpu-prof without a name: Node writes one profile per thread (main and observer).
        const profile = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(opts.profileDir, `${b.label}-${v}-r${round}`)] : [];
        const critap = await startCritapFrom(b, args, [...b.execArgv, ...profile]);
        // Warm-up: connections, JIT, the recorder's first batches; then measure from a snapshot.
        if (opts.warmup > 0) await pool.run(job(critap.endpoint, opts.warmup), 2);
        // What the warm-up left queued (a recorder batch, spans, LevelDB writing) is not the round's:
        // wait for critap to go idle, as after the round (bench/cpu.ts settleCpu).
        const critapCpu = () => ({ proxy: processCpuSeconds(critap.pid) });
        await settleCpu(critapCpu, 'proxy');
        const before = threadCpu(critap.pid);
        const rtBefore = threadCpu(fake.child.pid);
        const result = await pool.run(job(critap.endpoint, opts.calls), 2);
        const rt = splitThreads(fake.child.pid, cpuBetween(rtBefore, threadCpu(fake.child.pid)));
        // What the last calls handed the observer thread (batches, span exports) is the round's.
        await settleCpu(critapCpu, 'proxy');
        const spent = splitThreads(critap.pid, cpuBetween(before, threadCpu(critap.pid)));
        const figures = await critap.stop();
        if (args.recordDir) await rm(args.recordDir, { recursive: true, force: true });
        if (result.errors) throw new Error(`critap (${b.label}, ${v}): ${result.errors} calls failed: ${result.firstError}`);
        const calls = result.ok;
        const s: Sample = {
          build: b.label,
          variant: v,
          round,
          calls,
          callsPerSec: calls / ((result.endMs - result.startMs) / 1000),
          main: spent.main / calls,
          busiestOther: spent.busiestOther / calls,
          rest: spent.rest / calls,
          total: spent.total / calls,
          runtime: rt.total / calls,
          spansDropped: figures.spansDropped as number | undefined,
          recordDropped: figures.recordDropped as number | undefined,
        };
        samples.push(s);
        log(`round ${round} ${b.label} ${v}: ${s.total.toFixed(1)} µs/call (main ${s.main.toFixed(1)}, busiest other ${s.busiestOther.toFixed(1)}, rest ${s.rest.toFixed(1)}), runtime ${s.runtime.toFixed(1)} µs/call, ${Math.round(s.callsPerSec)} calls/s, spans dropped ${s.spansDropped ?? '—'}; other threads, µs/call: ${spent.others.map((us) => (us / calls).toFixed(1)).join(' ')}`);
      }
    }
    process.stdout.write(`\ncritap CPU per call (µs, median of ${opts.rounds} rounds), Version, ${opts.inFlight} in flight, fake runtime, ${opts.calls} calls\n`);
    process.stdout.write('build        variant        total   main  observer  rest  runtime  calls/s\n');
    for (const { b, v } of combos) {
      const mine = samples.filter((s) => s.build === b.label && s.variant === v);
      const m = (k: keyof Sample) => median(mine.map((s) => s[k] as number));
      process.stdout.write(
        `${b.label.padEnd(12)} ${v.padEnd(13)} ${m('total').toFixed(1).padStart(6)} ${m('main').toFixed(1).padStart(6)} ${m('busiestOther').toFixed(1).padStart(9)} ${m('rest').toFixed(1).padStart(5)} ${m('runtime').toFixed(1).padStart(8)} ${Math.round(m('callsPerSec')).toString().padStart(8)}\n`,
      );
    }
    process.stdout.write(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  } finally {
    await pool?.close().catch(() => undefined);
    for (const c of children) await c.stop(5000).catch(() => c.kill());
    await rm(workDir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof HelpRequested) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`critap: observe-cpu: ${err.message}\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`critap: observe-cpu failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
