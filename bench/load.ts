/**
 * The client side of a measurement: N calls kept in flight over a few grpc-js connections,
 * timing each call, or server streams counting their messages. It runs inside client-worker
 * processes, never in the process that also runs the proxy or the runtime.
 */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';

const identity = (b: Buffer) => b;

interface JobBase {
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
  /** Calls or streams that ended OK. */
  ok: number;
  errors: number;
  firstError?: string;
  /** Wall-clock ms (timeOrigin-based, comparable across processes). */
  startMs: number;
  endMs: number;
  /** Response messages received (1 per unary call). */
  messages: number;
  responseBytes: number;
  latenciesUs?: number[];
}

export const wallMs = (): number => performance.timeOrigin + performance.now();

export function openClients(job: LoadJob): grpc.Client[] {
  return Array.from({ length: Math.max(1, job.connections) }, () =>
    new grpc.Client(job.endpoint, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      // Without this, clients with equal options share one connection process-wide.
      'grpc.use_local_subchannel_pool': 1,
    }),
  );
}

function metadataOf(job: LoadJob): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(job.metadata ?? {})) md.set(k, v);
  return md;
}

/** No single benchmark call may hang the run: a stuck call fails after this long. */
const CALL_DEADLINE_MS = 120_000;
const deadline = () => ({ deadline: Date.now() + CALL_DEADLINE_MS });

type OneCall = (client: grpc.Client) => Promise<{ messages: number; bytes: number }>;

function unaryOnce(job: LoadJob, request: Buffer): OneCall {
  return (client) =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(job.path, identity, identity, request, metadataOf(job), deadline(), (err, res) => {
        if (err) reject(err);
        else resolve({ messages: 1, bytes: res?.length ?? 0 });
      });
    });
}

function streamOnce(job: LoadJob, request: Buffer): OneCall {
  return (client) =>
    new Promise((resolve, reject) => {
      let messages = 0;
      let bytes = 0;
      const call = client.makeServerStreamRequest(job.path, identity, identity, request, metadataOf(job), deadline());
      call.on('data', (m: Buffer) => {
        messages++;
        bytes += m.length;
      });
      call.on('error', reject);
      call.on('status', (st: grpc.StatusObject) => {
        if (st.code === grpc.status.OK) resolve({ messages, bytes });
      });
    });
}

/** Runs `total` calls with `inFlight` lanes; each lane starts its next call when the last one ends. */
async function drive(clients: grpc.Client[], job: LoadJob, total: number, keepLatencies: boolean): Promise<LoadResult> {
  const request = Buffer.from(job.request, 'base64');
  const once = job.kind === 'unary' ? unaryOnce(job, request) : streamOnce(job, request);
  const result: LoadResult = { ok: 0, errors: 0, startMs: wallMs(), endMs: 0, messages: 0, responseBytes: 0 };
  if (keepLatencies) result.latenciesUs = [];
  let issued = 0;
  const lane = async (): Promise<void> => {
    while (issued < total) {
      const client = clients[issued % clients.length]!;
      issued++;
      const t0 = performance.now();
      try {
        const r = await once(client);
        result.latenciesUs?.push((performance.now() - t0) * 1000);
        result.ok++;
        result.messages += r.messages;
        result.responseBytes += r.bytes;
      } catch (err) {
        result.errors++;
        result.firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(job.inFlight, total)) }, lane));
  result.endMs = wallMs();
  return result;
}

export function warmUp(clients: grpc.Client[], job: LoadJob): Promise<LoadResult> {
  return drive(clients, job, job.warmup, false);
}

export function runLoad(clients: grpc.Client[], job: LoadJob): Promise<LoadResult> {
  const total = job.kind === 'unary' ? job.calls : job.streams;
  return drive(clients, job, total, job.kind === 'unary' && job.latencies);
}
