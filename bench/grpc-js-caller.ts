/**
 * The grpc-js client of the benchmark: a real client's view of critap (what the kubelet's Go
 * client and crictl pay is closer to this than to the cheap h2 client). ~125 µs of CPU per call.
 */
import * as grpc from '@grpc/grpc-js';
import type { CallAnswer } from './h2-load/connection.js';
import type { Caller, LoadJob } from './load.js';

const identity = (b: Buffer) => b;

/** No single benchmark call may hang the run: a stuck call fails after this long. */
const CALL_DEADLINE_MS = 120_000;
const deadline = () => ({ deadline: Date.now() + CALL_DEADLINE_MS });

function metadataOf(job: LoadJob): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(job.metadata ?? {})) md.set(k, v);
  return md;
}

type OneCall = (client: grpc.Client, keepFirst: boolean) => Promise<CallAnswer>;

function unaryOnce(job: LoadJob, request: Buffer): OneCall {
  return (client, keepFirst) =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(job.path, identity, identity, request, metadataOf(job), deadline(), (err, res) => {
        if (err) reject(err);
        else resolve({ messages: 1, bytes: res?.length ?? 0, firstBody: keepFirst ? res : undefined });
      });
    });
}

function streamOnce(job: LoadJob, request: Buffer): OneCall {
  return (client, keepFirst) =>
    new Promise((resolve, reject) => {
      let messages = 0;
      let bytes = 0;
      let firstBody: Buffer | undefined;
      const call = client.makeServerStreamRequest(job.path, identity, identity, request, metadataOf(job), deadline());
      call.on('data', (m: Buffer) => {
        if (messages === 0 && keepFirst) firstBody = m;
        messages++;
        bytes += m.length;
      });
      call.on('error', reject);
      call.on('status', (st: grpc.StatusObject) => {
        if (st.code === grpc.status.OK) resolve({ messages, bytes, firstBody });
      });
    });
}

export function openGrpcJsCaller(job: LoadJob): Caller {
  const clients = Array.from({ length: Math.max(1, job.connections) }, () =>
    new grpc.Client(job.endpoint, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      // Without this, clients with equal options share one connection process-wide.
      'grpc.use_local_subchannel_pool': 1,
    }),
  );
  const request = Buffer.from(job.request, 'base64');
  const once = job.kind === 'unary' ? unaryOnce(job, request) : streamOnce(job, request);
  let next = 0;
  return {
    once: (keepFirst) => once(clients[next++ % clients.length]!, keepFirst),
    close: () => {
      for (const c of clients) c.close();
    },
  };
}
