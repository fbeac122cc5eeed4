/**
 * critap's memory when a node is quiet: a proxy with recording and tracing on, a burst of calls
 * (so LevelDB, the exporter and every lazily loaded module are in), a few seconds with nothing to
 * do (its resident set read then: `rssMB`), then calls at a quiet kubelet's pace for a while (its
 * resident set read at the end: `pacedRssMB`).
 *
 * Why both: a node is never silent. A kubelet relists every second and polls statuses and probes,
 * about 5 calls a second with one pod (../shared/notes/kubelet-here.md) and tens with many. V8
 * gives back the heap it grew for a burst only once its allocation rate has stayed low for several
 * seconds (its memory reducer), so the figure 5 s after a burst still holds the burst's garbage;
 * the paced figure is where critap settles on a quiet node.
 */
import { rm } from 'node:fs/promises';
import { rawClient, unaryCall } from '../test/support/fake-upstream.js';
import { procStatusKb } from './children.js';
import type { ClientPool } from './client-pool.js';
import { VERSION_PATH, versionRequest } from './fixtures.js';
import { startCritap, type VariantContext } from './variants.js';

export interface IdleFigures {
  /** VmRSS after the idle wait that follows the burst. */
  rssMB: number;
  /** VmRSS at the end of the paced calls (a quiet kubelet's pace); absent when none were made. */
  pacedRssMB?: number;
  /** Calls made at that pace, one connection, one at a time. */
  pacedCalls?: number;
  pacedMs?: number;
  /** VmHWM at the same moment: the most it held while making the calls. */
  peakMB: number;
  calls: number;
  idleMs: number;
}

export interface IdleRun {
  rounds: IdleFigures[];
  failure?: string;
}

export interface IdleOptions {
  /** The burst: calls 1 in flight over the cheap client. */
  calls: number;
  idleMs: number;
  /** Then one call every `paceEveryMs` for `paceForMs` (0: none). */
  paceEveryMs: number;
  paceForMs: number;
}

/** One call every `everyMs` for `forMs` over one persistent connection, as a kubelet keeps one; the calls made. */
async function pacedCalls(endpoint: string, everyMs: number, forMs: number): Promise<number> {
  const client = rawClient(endpoint);
  try {
    const until = Date.now() + forMs;
    let made = 0;
    for (let next = Date.now(); next < until; next += everyMs) {
      const r = await unaryCall(client, VERSION_PATH, versionRequest());
      if (r.error) throw new Error(`critap: bench idle: a paced call failed: ${r.error.message}`);
      made++;
      const wait = next + everyMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return made;
  } finally {
    client.close();
  }
}

export async function measureIdle(pool: ClientPool, ctx: VariantContext, upstream: string, opts: IdleOptions): Promise<IdleFigures> {
  const running = await startCritap(ctx, upstream, { record: true, otlp: true, name: 'idle' });
  try {
    const job = {
      kind: 'unary' as const,
      client: 'h2' as const,
      endpoint: running.endpoint,
      path: VERSION_PATH,
      request: versionRequest().toString('base64'),
      inFlight: 1,
      connections: 1,
      calls: opts.calls,
      warmup: 1,
      latencies: false,
    };
    const r = await pool.run(job, 1);
    if (r.errors) throw new Error(`critap: bench idle: ${r.errors} calls failed (${r.firstError})`);
    // Long enough for the recorder's and the exporter's batches to go out and the heap to settle.
    await new Promise((resolve) => setTimeout(resolve, opts.idleMs));
    const pid = running.pid;
    const figures: IdleFigures = { rssMB: (procStatusKb(pid, 'VmRSS') * 1024) / 1e6, peakMB: (procStatusKb(pid, 'VmHWM') * 1024) / 1e6, calls: r.ok, idleMs: opts.idleMs };
    if (opts.paceForMs > 0) {
      figures.pacedCalls = await pacedCalls(running.endpoint, opts.paceEveryMs, opts.paceForMs);
      figures.pacedMs = opts.paceForMs;
      figures.pacedRssMB = (procStatusKb(pid, 'VmRSS') * 1024) / 1e6;
      figures.peakMB = (procStatusKb(pid, 'VmHWM') * 1024) / 1e6;
    }
    return figures;
  } finally {
    await running.stop();
    if (running.recordDir) await rm(running.recordDir, { recursive: true, force: true });
  }
}
