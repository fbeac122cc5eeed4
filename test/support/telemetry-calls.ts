/**
 * CallRecords for telemetry tests, built from real CRI protobuf bytes
 * (encodeMessage with the method table's request/response types).
 */
import type { CallRecord, Header } from '../../src/call.js';
import { encodeMessage } from '../../src/cri/codec.js';
import { lookupMethod } from '../../src/cri/methods.js';

export interface CallSpec {
  method: string;
  request?: unknown;
  /** One response message, or several for a server stream. */
  response?: unknown | unknown[];
  startNs?: bigint;
  durationNs?: number;
  /** Offsets of the stream messages from the call's start, in ns. */
  offsetsNs?: number[];
  status?: { code: number; message: string };
  metadata?: Header[];
}

let clock = 1_760_000_000_123_456_789n;

export function makeCall(spec: CallSpec): CallRecord {
  const info = lookupMethod(spec.method);
  if (!info) throw new Error(`test: unknown CRI method ${spec.method}`);
  const reqBytes = encodeMessage(info.requestType, spec.request ?? {});
  const responses = spec.response === undefined ? [] : Array.isArray(spec.response) ? spec.response : [spec.response];
  const durationNs = spec.durationNs ?? 1_234_567;
  const resMessages = responses.map((r, i) => ({
    offsetNs: spec.offsetsNs?.[i] ?? Math.floor((durationNs * (i + 1)) / (responses.length + 1)),
    data: encodeMessage(info.responseType, r),
  }));
  const startNs = spec.startNs ?? (clock += 10_000_000n);
  return {
    method: spec.method,
    startNs,
    durationNs,
    requests: [{ offsetNs: 0, data: reqBytes }],
    responses: resMessages,
    status: spec.status ?? { code: 0, message: '' },
    end: 'trailers',
    requestMetadata: spec.metadata ?? [['content-type', 'application/grpc']],
    responseHeaders: [['content-type', 'application/grpc']],
    responseTrailers: [['grpc-status', String(spec.status?.code ?? 0)]],
    requestBytes: reqBytes.length + 5,
    responseBytes: resMessages.reduce((n, m) => n + m.data.length + 5, 0),
    peer: { pid: 4242, exe: '/usr/bin/kubelet' },
  };
}

export const RUNTIME = '/runtime.v1.RuntimeService';

export const POD = { name: 'web-0', namespace: 'shop', uid: '7d1c6a52-8f0e-4a57-9a43-3f1f0c1e2b11', attempt: 0 };

/** The kubelet's pod start: RunPodSandbox, CreateContainer, StartContainer. */
export function podStartCalls(sandboxId: string, containerId: string, metadata?: Header[]): CallRecord[] {
  return [
    makeCall({
      method: `${RUNTIME}/RunPodSandbox`,
      request: { config: { metadata: POD, hostname: 'web-0' } },
      response: { podSandboxId: sandboxId },
      metadata,
    }),
    makeCall({
      method: `${RUNTIME}/CreateContainer`,
      request: {
        podSandboxId: sandboxId,
        config: { metadata: { name: 'nginx', attempt: 0 }, image: { image: 'registry.local/nginx:1.27' }, envs: [{ key: 'DB_PASSWORD', value: 'hunter2' }] },
        sandboxConfig: { metadata: POD },
      },
      response: { containerId },
      metadata,
    }),
    makeCall({ method: `${RUNTIME}/StartContainer`, request: { containerId }, response: {}, metadata }),
  ];
}
