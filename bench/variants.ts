/**
 * The ways a client can reach a runtime in the benchmark. Each variant starts fresh for every
 * measurement (a new critap process, a new recording folder), so no measurement inherits another
 * one's heap, recording or background flushing. Adding a variant means adding an entry here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peakRss, startChild } from './children.js';
import { processCpuSeconds, threadCpuSeconds, type CpuReading } from './cpu.js';
import { startFloor } from './floor.js';
import type { CritapArgs } from './critap-main.js';
import type { NodePipeArgs } from './node-pipe-main.js';

export type VariantId = 'direct' | 'floor' | 'node-pipe' | 'bare' | 'record' | 'record-trace' | 'replay' | 'replay-nostate' | 'trace' | 'trace-propagate';

export const VARIANT_LABELS: Record<VariantId, string> = {
  direct: 'direct',
  floor: 'socat (floor)',
  'node-pipe': 'Node pipe',
  bare: 'critap bare',
  record: '+ recording',
  'record-trace': '+ rec + tracing',
  replay: 'replay',
  'replay-nostate': 'replay --no-state',
  trace: '+ tracing',
  'trace-propagate': '+ tracing + propagate',
};

/** What a plain `npm run bench` runs. */
export const DEFAULT_VARIANTS: VariantId[] = ['direct', 'floor', 'node-pipe', 'bare', 'record', 'record-trace', 'replay'];
/**
 * Also available with --variants: tracing alone, tracing with --propagate-trace (its header
 * rewriting), and replay answering by request alone (what following the life cycle costs).
 */
export const ALL_VARIANTS: VariantId[] = [...DEFAULT_VARIANTS, 'trace', 'trace-propagate', 'replay-nostate'];
/** Variants that serve the scenario's recording. */
export const REPLAY_VARIANTS: VariantId[] = ['replay', 'replay-nostate'];
/** Variants that export spans (the run starts an OTLP receiver for them). */
export const TRACING_VARIANTS: VariantId[] = ['record-trace', 'trace', 'trace-propagate'];

/** What a variant's process reports after a measurement. */
export interface VariantFigures {
  /** critap's VmHWM just before it was stopped (the forwarding peak, before the final flush). */
  peakRssBytes?: number;
  recorded?: number;
  recordDropped?: number;
  spansDropped?: number;
  /** Message bodies forwarded but not kept for the observers (capture budget full): calls recorded truncated. */
  bodiesNotCaptured?: number;
}

export interface RunningVariant {
  endpoint: string;
  /**
   * Cumulative CPU seconds of what sits between client and runtime (bench/cpu.ts): `proxy` for
   * the whole process (socat: with its per-connection children), and for critap its threads:
   * `critapMain` (forwarding), `critapObserver` (recorder and telemetry), `critapOther` (the rest:
   * GC helpers, LevelDB's background thread, libuv's pool). Absent for direct.
   */
  cpu?(): CpuReading;
  stop(): Promise<VariantFigures>;
}

export interface VariantContext {
  /** Scratch folder for sockets and recordings. */
  workDir: string;
  /** OTLP receiver for the tracing variant. */
  otlpUrl?: string;
  /** Extra node flags for critap processes (e.g. --cpu-prof). */
  critapExecArgv(name: string): string[];
  /** The recording replay serves for the current scenario. */
  replayRecording?: string;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const critapBin = join(repoRoot, 'bin', 'critap.js');

let seq = 0;
const uniqueName = (what: string) => `${what}-${process.pid}-${++seq}`;

/** Starts critap's proxy (bench launcher) with the given observers. */
export async function startCritap(
  ctx: VariantContext,
  upstream: string,
  opts: { record?: boolean; otlp?: boolean; propagateTrace?: boolean; name: string },
): Promise<RunningVariant & { recordDir?: string; pid: number }> {
  const listen = join(ctx.workDir, `${uniqueName('critap')}.sock`);
  const recordDir = opts.record ? join(ctx.workDir, uniqueName('recording')) : undefined;
  const args: CritapArgs = { listen: `unix://${listen}`, upstream, recordDir, otlpEndpoint: opts.otlp ? ctx.otlpUrl : undefined, propagateTrace: opts.propagateTrace };
  if (opts.otlp && !ctx.otlpUrl) throw new Error('critap: bench tracing variant needs an OTLP receiver');
  const { child, ready } = await startChild('critap-main.js', args, { label: `critap (${opts.name})`, execArgv: ctx.critapExecArgv(opts.name) });
  const observerTid = typeof ready.observerTid === 'number' ? ready.observerTid : undefined;
  return {
    endpoint: String(ready.endpoint),
    recordDir,
    pid: child.pid,
    cpu: () => critapCpu(child.pid, observerTid),
    async stop() {
      const peakRssBytes = peakRss(child.pid);
      const figures = (await child.stop(120_000)) ?? {};
      return {
        peakRssBytes,
        recorded: figures.recorded as number | undefined,
        recordDropped: figures.recordDropped as number | undefined,
        spansDropped: figures.spansDropped as number | undefined,
        bodiesNotCaptured: figures.bodiesNotCaptured as number | undefined,
      };
    },
  };
}

/**
 * A critap process's CPU by thread; the main thread's id is the process id. Without observers
 * (bare, replay) there is no observer thread and no critapObserver part.
 */
function critapCpu(pid: number, observerTid: number | undefined): CpuReading {
  // Threads first, the whole process last: it keeps running between the reads, so read this way
  // the total is never below its parts.
  const critapMain = threadCpuSeconds(pid, pid);
  if (observerTid === undefined) {
    const proxy = processCpuSeconds(pid);
    return { proxy, critapMain, critapOther: proxy - critapMain };
  }
  const critapObserver = threadCpuSeconds(pid, observerTid);
  const proxy = processCpuSeconds(pid);
  return { proxy, critapMain, critapObserver, critapOther: proxy - critapMain - critapObserver };
}

/** The Node floor (node-pipe-main.ts): a byte pipe in Node, a new process per measurement. */
async function startNodePipe(ctx: VariantContext, upstream: string): Promise<RunningVariant> {
  if (!upstream.startsWith('unix://')) throw new Error(`critap: bench node pipe needs a unix:// runtime endpoint, got "${upstream}"`);
  const args: NodePipeArgs = { listen: join(ctx.workDir, `${uniqueName('node-pipe')}.sock`), upstream: upstream.slice('unix://'.length) };
  const { child, ready } = await startChild('node-pipe-main.js', args, { label: 'node pipe' });
  return {
    endpoint: String(ready.endpoint),
    cpu: () => ({ proxy: processCpuSeconds(child.pid) }),
    async stop() {
      const peakRssBytes = peakRss(child.pid);
      await child.stop(10_000);
      return { peakRssBytes };
    },
  };
}

/** Why `critap replay` cannot be used yet, or undefined when the command exists. */
export function replayMissing(): string | undefined {
  if (!existsSync(join(repoRoot, 'dist', 'src', 'cli', 'replay.js'))) return 'src/cli/replay.ts (critap replay) does not exist yet';
  const r = spawnSync(process.execPath, [critapBin, 'replay', '--help'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) return `'critap replay --help' failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`;
  return undefined;
}

async function waitForSocket(path: string, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const gone = exited();
    if (gone) throw new Error(`critap: bench replay ${gone}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(path, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`critap: bench replay did not listen on ${path} within ${timeoutMs} ms`);
}

/** `critap replay <recording> --listen …`, the CLI as a user runs it. */
async function startReplay(ctx: VariantContext, extraArgs: string[] = []): Promise<RunningVariant> {
  if (!ctx.replayRecording) throw new Error('critap: bench replay has no recording for this scenario');
  const listen = join(ctx.workDir, `${uniqueName('replay')}.sock`);
  const child = spawn(
    process.execPath,
    [...ctx.critapExecArgv('replay'), critapBin, 'replay', ctx.replayRecording, '--listen', `unix://${listen}`, '--on-exhausted', 'repeat', ...extraArgs],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let exitNote: string | undefined;
  const exited = new Promise<void>((r) =>
    child.once('exit', (code, sig) => {
      exitNote = `exited (${sig ?? `code ${code}`})`;
      r();
    }),
  );
  try {
    await waitForSocket(listen, 30_000, () => exitNote);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    endpoint: `unix://${listen}`,
    cpu: () => critapCpu(child.pid ?? 0, undefined),
    async stop() {
      const peakRssBytes = child.pid ? peakRss(child.pid) : undefined;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      return { peakRssBytes };
    },
  };
}

export async function startVariant(id: VariantId, ctx: VariantContext, upstream: string): Promise<RunningVariant> {
  await mkdir(ctx.workDir, { recursive: true });
  switch (id) {
    case 'direct':
      return { endpoint: upstream, stop: async () => ({}) };
    case 'floor':
      return startFloor(ctx.workDir, uniqueName('floor'), upstream);
    case 'node-pipe':
      return startNodePipe(ctx, upstream);
    case 'bare':
    case 'record':
    case 'record-trace':
    case 'trace':
    case 'trace-propagate': {
      const running = await startCritap(ctx, upstream, {
        record: id === 'record' || id === 'record-trace',
        otlp: TRACING_VARIANTS.includes(id),
        propagateTrace: id === 'trace-propagate',
        name: id,
      });
      return {
        endpoint: running.endpoint,
        cpu: running.cpu,
        async stop() {
          const figures = await running.stop();
          // Recordings of 64 × 8 MiB add up: each is deleted once its measurement is done.
          if (running.recordDir) await rm(running.recordDir, { recursive: true, force: true });
          return figures;
        },
      };
    }
    case 'replay':
      return startReplay(ctx);
    case 'replay-nostate':
      return startReplay(ctx, ['--no-state']);
  }
}
