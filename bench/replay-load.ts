/**
 * Replay's start-up on a long recording: `critap replay` serving an hour of a busy node's kubelet
 * (bench/big-node.ts), from its start until the socket answers, and its memory then.
 *
 * Measured as a user meets it: a new `node bin/critap.js replay REC --listen …` process per
 * round; `loadMs` from spawn until a ListContainers call through the socket is answered (the
 * answer's container count is checked), `rssMB` (VmRSS) just after that answer, `peakMB`
 * (VmHWM) the most it held while loading.
 *
 * Also a command of its own, to set builds side by side in one run (the revision before a change,
 * built in another folder, and this one), rounds interleaved:
 *
 *   node dist/bench/replay-load.js --builds before=/tmp/old/dist,after=dist [--rounds 3] [--seconds 3600 --pods 150]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseCommandArgs, intFlag, HelpRequested, UsageError } from '../src/cli/args.js';
import { decodeMessage, encodeMessage } from '../src/cri/codec.js';
import { folderSize } from '../src/record/find.js';
import { startCliReplay } from '../test/support/cli-proxy.js';
import { rawClient, unaryCall } from '../test/support/fake-upstream.js';
import { procStatusKb } from './children.js';
import { HOUR_OF_BIG_NODE, writeBigNodeRecording, type BigNodeShape } from './big-node.js';
import { median, rotate } from './stats.js';

export interface ReplayLoadFigures {
  loadMs: number;
  rssMB: number;
  peakMB: number;
}

export interface ReplayLoadRun {
  shape: BigNodeShape;
  calls: number;
  /** The recording folder's size on disk. */
  recordingMB: number;
  rounds: ReplayLoadFigures[];
  failure?: string;
}

const LIST_CONTAINERS = '/runtime.v1.RuntimeService/ListContainers';
/** This build's dist/ folder. */
export const THIS_DIST = fileURLToPath(new URL('../', import.meta.url));

/** One `critap replay` of `recording` from the build in `dist` (its package's bin/critap.js). */
export async function measureReplayLoad(recording: string, expectContainers: number, dist = THIS_DIST, timeoutMs = 600_000): Promise<ReplayLoadFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'critap-replay-load-'));
  const endpoint = `unix://${join(dir, 'cri.sock')}`;
  const started = performance.now();
  const replay = await startCliReplay(recording, ['--listen', endpoint], { bin: join(dist, '..', 'bin', 'critap.js'), startTimeoutMs: timeoutMs });
  try {
    const client = rawClient(endpoint);
    try {
      const answer = await unaryCall(client, LIST_CONTAINERS, encodeMessage('runtime.v1.ListContainersRequest', {}));
      if (answer.error || !answer.response) throw new Error(`ListContainers failed: ${answer.error?.message ?? 'no answer'}`);
      const loadMs = performance.now() - started;
      const listed = (decodeMessage('runtime.v1.ListContainersResponse', answer.response).containers as unknown[] | undefined)?.length ?? 0;
      if (listed < expectContainers) throw new Error(`ListContainers listed ${listed} containers, the recording's node has ${expectContainers}`);
      const pid = replay.child.pid!;
      const mb = (field: 'VmRSS' | 'VmHWM') => procStatusKb(pid, field) / 1024;
      return { loadMs, rssMB: mb('VmRSS'), peakMB: mb('VmHWM') };
    } finally {
      client.close();
    }
  } finally {
    await replay.stop('SIGINT');
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Each build writes the recording with its own writer (its dist/bench/big-node.js: the recording
 * format is part of what is compared, and an older build cannot read a newer format), then
 * `rounds` replays per build of its own recording, interleaved.
 */
export async function runReplayLoad(shape: BigNodeShape, rounds: number, builds: Array<{ label: string; dist: string }>, log: (s: string) => void): Promise<Map<string, ReplayLoadRun>> {
  const dir = await mkdtemp(join(tmpdir(), 'critap-big-node-'));
  const out = new Map<string, ReplayLoadRun>();
  const recordings = new Map<string, string>();
  try {
    for (const [i, b] of builds.entries()) {
      const recording = join(dir, `rec-${i}`);
      log(`replay-load: ${b.label} writing ${shape.seconds} s of a ${shape.pods}-pod node…`);
      try {
        const calls = await (await bigNodeWriterOf(b.dist))(recording, shape);
        out.set(b.label, { shape, calls, recordingMB: (await folderSize(recording)) / 1e6, rounds: [] });
        recordings.set(b.label, recording);
      } catch (err) {
        out.set(b.label, { shape, calls: 0, recordingMB: 0, rounds: [], failure: `writing the recording: ${(err as Error).message}` });
      }
    }
    for (let r = 1; r <= rounds; r++) {
      for (const b of rotate(builds, r - 1)) {
        const run = out.get(b.label)!;
        if (run.failure) continue;
        try {
          const f = await measureReplayLoad(recordings.get(b.label)!, shape.pods * 2, b.dist);
          run.rounds.push(f);
          log(`replay-load round ${r}/${rounds} ${b.label}: answering after ${(f.loadMs / 1000).toFixed(2)} s, ${f.rssMB.toFixed(0)} MB resident (peak ${f.peakMB.toFixed(0)} MB)`);
        } catch (err) {
          run.failure = (err as Error).message;
        }
      }
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The recording writer of the build in `dist` (this build's for this build). */
async function bigNodeWriterOf(dist: string): Promise<typeof writeBigNodeRecording> {
  if (resolve(dist) === resolve(THIS_DIST)) return writeBigNodeRecording;
  const mod = (await import(pathToFileURL(join(dist, 'bench', 'big-node.js')).href)) as { writeBigNodeRecording?: typeof writeBigNodeRecording };
  if (typeof mod.writeBigNodeRecording !== 'function') throw new Error(`${dist}/bench/big-node.js has no writeBigNodeRecording`);
  return mod.writeBigNodeRecording;
}

export function renderReplayLoad(run: ReplayLoadRun, label = ''): string {
  const { shape } = run;
  const head = `replay start-up${label ? ` (${label})` : ''}, ${shape.seconds} s of a ${shape.pods}-pod node's kubelet (${run.calls} calls, ${run.recordingMB.toFixed(run.recordingMB < 10 ? 1 : 0)} MB recorded)`;
  if (run.rounds.length === 0) return `${head}: FAILED (${run.failure ?? 'not run'})`;
  const med = (k: keyof ReplayLoadFigures) => median(run.rounds.map((r) => r[k]));
  return `${head}: answering after ${(med('loadMs') / 1000).toFixed(2)} s, ${med('rssMB').toFixed(0)} MB resident (peak ${med('peakMB').toFixed(0)} MB); medians of ${run.rounds.length} rounds${run.failure ? `; then FAILED (${run.failure})` : ''}`;
}

const HELP = `Usage: node dist/bench/replay-load.js [--builds LABEL=DIST,…] [--rounds N] [--seconds N] [--pods N]

critap replay's start-up on a long recording of a busy node (bench/big-node.ts): seconds until it
answers, resident and peak memory. Builds side by side: each DIST is a dist/ folder of a critap
checkout (its bin/critap.js is run). Defaults: this build, 3 rounds, ${HOUR_OF_BIG_NODE.seconds} s, ${HOUR_OF_BIG_NODE.pods} pods.
`;

async function main(argv: string[]): Promise<number> {
  let opts;
  try {
    const { values: v } = parseCommandArgs(argv, { builds: { type: 'string' }, rounds: { type: 'string' }, seconds: { type: 'string' }, pods: { type: 'string' } });
    const builds = (v.builds ?? `this=${THIS_DIST}`).split(',').map((b) => {
      const [label, dist] = b.split('=');
      if (!label || !dist) throw new UsageError(`--builds takes LABEL=DIST pairs, not "${b}"`);
      return { label, dist: resolve(dist) };
    });
    const shape: BigNodeShape = { ...HOUR_OF_BIG_NODE, seconds: intFlag('seconds', v.seconds, HOUR_OF_BIG_NODE.seconds), pods: intFlag('pods', v.pods, HOUR_OF_BIG_NODE.pods) };
    opts = { builds, shape, rounds: intFlag('rounds', v.rounds, 3) };
  } catch (err) {
    if (err instanceof HelpRequested) return process.stdout.write(HELP), 0;
    if (err instanceof UsageError) return process.stderr.write(`critap: bench replay-load: ${err.message}\n`), 2;
    throw err;
  }
  const runs = await runReplayLoad(opts.shape, opts.rounds, opts.builds, (s) => process.stderr.write(s + '\n'));
  for (const [label, run] of runs) process.stdout.write(renderReplayLoad(run, label) + '\n');
  return [...runs.values()].some((r) => r.failure) ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err: unknown) => {
    process.stderr.write(`critap: bench replay-load failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
