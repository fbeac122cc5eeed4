/**
 * The client side of a measurement: N calls kept in flight over a few connections, timing each
 * call, or server streams counting their messages. It runs inside client-worker processes, never
 * in the process that also runs the proxy or the runtime.
 *
 * Two clients can make the calls (the job's `client`): `h2`, the cheap one (bench/h2-load/:
 * pre-encoded frames straight to the socket, a few µs of CPU per call, so the servers and not
 * the client set the throughput figures), and `grpc-js`, a real client's view of the same calls.
 */
import { performance } from 'node:perf_hooks';
import { openGrpcJsCaller } from './grpc-js-caller.js';
import type { CallAnswer } from './h2-load/connection.js';
import { openH2Caller } from './h2-load/caller.js';

export type LoadClient = 'h2' | 'grpc-js';
export const LOAD_CLIENTS: readonly LoadClient[] = ['h2', 'grpc-js'];

interface JobBase {
  /** Which client makes the calls. */
  client: LoadClient;
  endpoint: string;
  path: string;
  /** Request bytes, base64 (jobs travel over IPC as JSON). */
  request: string;
  inFlight: number;
  /** Separate HTTP/2 connections; calls go round-robin over them. */
  connections: number;
  metadata?: Record<string, string>;
  /** Calls (or streams) made and thrown away first: connect, JIT, buffers. */
  warmup: number;
}

export interface UnaryJob extends JobBase {
  kind: 'unary';
  calls: number;
  /** Keep every call's latency (µs) in the result. */
  latencies: boolean;
}

export interface StreamJob extends JobBase {
  kind: 'stream';
  /** Streams to run; each ends when the server ends it. */
  streams: number;
}

export type LoadJob = UnaryJob | StreamJob;

export interface LoadResult {
  client: LoadClient;
  /** Calls or streams that ended OK. */
  ok: number;
  errors: number;
  firstError?: string;
  /** Wall-clock ms (timeOrigin-based, comparable across processes). */
  startMs: number;
  endMs: number;
  /** Response messages received (1 per unary call). */
  messages: number;
  /** Response message bodies, in bytes (gRPC's 5-byte prefixes not counted). */
  responseBytes: number;
  latenciesUs?: number[];
  /** CPU (user + system, µs) the client processes spent over the measured part, warm-up excluded. */
  clientCpuUs: number;
  /** The first answer's first message, base64, when it is at most FIRST_ANSWER_MAX bytes: to check clients agree. */
  firstAnswer?: string;
}

/** Answers larger than this are not carried back (8 MiB ExecSync answers over IPC would cost more than they prove). */
export const FIRST_ANSWER_MAX = 1024 * 1024;

/** How a client makes one call (or one whole stream); connections are chosen round-robin inside. */
export interface Caller {
  once(keepFirst: boolean): Promise<CallAnswer>;
  close(): void;
}

export const wallMs = (): number => performance.timeOrigin + performance.now();

export function openCaller(job: LoadJob): Promise<Caller> {
  switch (job.client) {
    case 'h2':
      return openH2Caller(job);
    case 'grpc-js':
      return Promise.resolve(openGrpcJsCaller(job));
    default:
      throw new Error(`critap: bench load job names unknown client "${String((job as { client: unknown }).client)}"; clients: ${LOAD_CLIENTS.join(', ')}`);
  }
}

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Runs `total` calls with `inFlight` lanes; each lane starts its next call when the last one ends. */
async function drive(caller: Caller, job: LoadJob, total: number, keepLatencies: boolean): Promise<LoadResult> {
  const cpu0 = cpuUs();
  const result: LoadResult = { client: job.client, ok: 0, errors: 0, startMs: wallMs(), endMs: 0, messages: 0, responseBytes: 0, clientCpuUs: 0 };
  if (keepLatencies) result.latenciesUs = [];
  let issued = 0;
  let firstKept = false;
  const lane = async (): Promise<void> => {
    while (issued < total) {
      issued++;
      const t0 = performance.now();
      try {
        const r = await caller.once(!firstKept);
        result.latenciesUs?.push((performance.now() - t0) * 1000);
        result.ok++;
        result.messages += r.messages;
        result.responseBytes += r.bytes;
        if (!firstKept && r.firstBody) {
          firstKept = true;
          if (r.firstBody.length <= FIRST_ANSWER_MAX) result.firstAnswer = r.firstBody.toString('base64');
        }
      } catch (err) {
        result.errors++;
        result.firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(job.inFlight, total)) }, lane));
  result.endMs = wallMs();
  result.clientCpuUs = cpuUs() - cpu0;
  return result;
}

export function warmUp(caller: Caller, job: LoadJob): Promise<LoadResult> {
  return drive(caller, job, job.warmup, false);
}

export function runLoad(caller: Caller, job: LoadJob): Promise<LoadResult> {
  const total = job.kind === 'unary' ? job.calls : job.streams;
  return drive(caller, job, total, job.kind === 'unary' && job.latencies);
}
