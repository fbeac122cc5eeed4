/**
 * Client worker processes shared by every measurement. One client process tops out around the
 * rate a single Node event loop can make calls (for grpc-js, ~125 µs of CPU per call, below what
 * replay and containerd serve; the h2 client costs a small fraction of that); spreading the lanes
 * over several processes keeps the client from being the bottleneck. On a 2-core machine they
 * still compete for the same cores, which is why every figure is also read as a ratio to the
 * direct connection from this same pool, and each result carries the client's own CPU per call.
 */
import { startChild, type Child } from './children.js';
import type { LoadJob, LoadResult } from './load.js';

/** Called around the measured part of a run (after warm-up): the CPU readings of bench/cpu.ts. */
export interface RoundHooks {
  /** Just before the workers get their job, so before the warm-up calls. */
  beforeWarm?(): void;
  /** Just before the workers are told `go`. */
  beforeGo?(): void;
  /** Just after the last worker's result arrived. */
  afterResults?(): void;
}

export interface ClientPool {
  readonly size: number;
  /** The worker processes' pids (for their CPU time). */
  readonly pids: number[];
  /** Runs the job split over `workers` processes (lanes and calls divided between them). */
  run(job: LoadJob, workers: number, hooks?: RoundHooks): Promise<LoadResult>;
  close(): Promise<void>;
}

function share(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}

function splitJob(job: LoadJob, parts: number, i: number): LoadJob {
  const inFlight = Math.max(1, share(job.inFlight, parts, i));
  const warmup = share(job.warmup, parts, i);
  if (job.kind === 'unary') return { ...job, inFlight, warmup, calls: share(job.calls, parts, i) };
  return { ...job, inFlight, warmup, streams: share(job.streams, parts, i) };
}

export function mergeResults(results: LoadResult[]): LoadResult {
  const merged: LoadResult = {
    client: results[0]!.client,
    ok: 0,
    errors: 0,
    startMs: Math.min(...results.map((r) => r.startMs)),
    endMs: Math.max(...results.map((r) => r.endMs)),
    messages: 0,
    responseBytes: 0,
    clientCpuUs: 0,
  };
  for (const r of results) {
    merged.ok += r.ok;
    merged.errors += r.errors;
    merged.firstError ??= r.firstError;
    merged.messages += r.messages;
    merged.responseBytes += r.responseBytes;
    merged.clientCpuUs += r.clientCpuUs;
    merged.firstAnswer ??= r.firstAnswer;
    // Every worker asked the same thing of the same server: a different answer is an error worth seeing.
    if (r.firstAnswer !== undefined && r.firstAnswer !== merged.firstAnswer) {
      merged.errors++;
      merged.firstError ??= 'client workers got different answers to the same request';
    }
    if (r.latenciesUs) (merged.latenciesUs ??= []).push(...r.latenciesUs);
  }
  return merged;
}

export async function startClientPool(size: number): Promise<ClientPool> {
  const workers: Child[] = [];
  try {
    for (let i = 0; i < size; i++) workers.push((await startChild('client-worker.js', {}, { label: `client ${i + 1}` })).child);
  } catch (err) {
    for (const w of workers) w.kill();
    throw err;
  }
  return {
    size,
    pids: workers.map((w) => w.pid),
    async run(job, count, hooks) {
      const used = workers.slice(0, Math.max(1, Math.min(count, size)));
      const parts = used.map((w, i) => ({ w, job: splitJob(job, used.length, i) })).filter((p, i) => i === 0 || (p.job.kind === 'unary' ? p.job.calls : p.job.streams) > 0);
      hooks?.beforeWarm?.();
      for (const p of parts) p.w.send({ type: 'job', job: p.job });
      const warm = await Promise.all(parts.map((p) => p.w.next<{ errors: number; firstError?: string }>('warm')));
      const warmErrors = warm.find((w) => w.errors > 0);
      hooks?.beforeGo?.();
      for (const p of parts) p.w.send({ type: 'go' });
      const results = await Promise.all(parts.map((p) => p.w.next<{ result: LoadResult }>('result')));
      hooks?.afterResults?.();
      const merged = mergeResults(results.map((r) => r.result));
      if (warmErrors && merged.errors === 0 && merged.ok === 0) merged.firstError = `warm-up failed: ${warmErrors.firstError}`;
      return merged;
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop(5000)));
    },
  };
}
