/**
 * critap's memory when a node is quiet: a proxy with recording and tracing on, a few calls
 * (so LevelDB, the exporter and every lazily loaded module are in), then a few seconds with
 * nothing to do, and its resident set read then. A kubelet's node spends most of its time so.
 */
import { rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import type { ClientPool } from './client-pool.js';
import { VERSION_PATH, versionRequest } from './fixtures.js';
import { startCritap, type VariantContext } from './variants.js';

export interface IdleFigures {
  /** VmRSS after the idle wait. */
  rssMB: number;
  /** VmHWM at the same moment: the most it held while making the calls. */
  peakMB: number;
  calls: number;
  idleMs: number;
}

export interface IdleRun {
  rounds: IdleFigures[];
  failure?: string;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`critap: bench idle: no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

export async function measureIdle(pool: ClientPool, ctx: VariantContext, upstream: string, opts: { calls: number; idleMs: number }): Promise<IdleFigures> {
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
    return { rssMB: (statusKb(pid, 'VmRSS') * 1024) / 1e6, peakMB: (statusKb(pid, 'VmHWM') * 1024) / 1e6, calls: r.ok, idleMs: opts.idleMs };
  } finally {
    await running.stop();
    if (running.recordDir) await rm(running.recordDir, { recursive: true, force: true });
  }
}
