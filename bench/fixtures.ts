/**
 * The CRI messages the benchmark sends and the fake runtime answers with, built once from the
 * project's schema (src/cri/codec.ts) so the tap, the recorder and the tracer see real CRI
 * bytes they can decode — not opaque filler that would skip their decoding costs.
 */
import { createHash } from 'node:crypto';
import type { CallRecord } from '../src/call.js';
import { encodeMessage } from '../src/cri/codec.js';

const SERVICE = '/runtime.v1.RuntimeService';
export const VERSION_PATH = `${SERVICE}/Version`;
export const LIST_CONTAINERS_PATH = `${SERVICE}/ListContainers`;
export const EXEC_SYNC_PATH = `${SERVICE}/ExecSync`;
export const EVENTS_PATH = `${SERVICE}/GetContainerEvents`;

export const MiB = 1024 * 1024;

/** Metadata naming how many events the fake's GetContainerEvents stream sends before ending with OK. */
export const EVENTS_HEADER = 'x-critap-bench-events';

export function versionRequest(): Buffer {
  return encodeMessage('runtime.v1.VersionRequest', { version: 'v1' });
}

export function versionResponse(): Buffer {
  return encodeMessage('runtime.v1.VersionResponse', {
    version: '0.1.0',
    runtime_name: 'critap-bench-fake',
    runtime_version: '1.6.20',
    runtime_api_version: 'v1',
  });
}

export function listContainersRequest(): Buffer {
  return encodeMessage('runtime.v1.ListContainersRequest', { filter: { state: { state: 'CONTAINER_RUNNING' } } });
}

/**
 * A 64-hex id as runtimes make them: random-looking (a hash of seed and index, so every run
 * sends the same bytes). Ids padded with one repeated letter made a 300-container list compress
 * to 1/12 of its size, where a real node's list compresses to about 1/5: the recorder's and
 * LevelDB's costs per byte were understated.
 */
const hexId = (seed: string, i: number) => createHash('sha256').update(`${seed}:${i}`).digest('hex');
/** A pod UID as the API server makes them (UUID-shaped), from the same kind of hash. */
const podUid = (i: number) => hexId('pod-uid', i).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5');

/** A ListContainersResponse the size a busy node's kubelet sees (a few hundred containers). */
export function listContainersResponse(count: number): Buffer {
  const containers = [];
  for (let i = 0; i < count; i++) {
    const pod = `pod-${Math.floor(i / 3)}`;
    containers.push({
      id: hexId('c0ffee', i),
      pod_sandbox_id: hexId('5a4db0c', Math.floor(i / 3)),
      metadata: { name: `app-${i % 3}`, attempt: 0 },
      image: { image: 'registry.local/team/app:1.2.3' },
      image_ref: `sha256:${hexId('1a6e', i % 7)}`,
      state: 'CONTAINER_RUNNING',
      created_at: String(1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n),
      labels: {
        'io.kubernetes.container.name': `app-${i % 3}`,
        'io.kubernetes.pod.name': pod,
        'io.kubernetes.pod.namespace': 'bench',
        'io.kubernetes.pod.uid': podUid(Math.floor(i / 3)),
      },
      annotations: {
        'io.kubernetes.container.hash': 'a1b2c3d4',
        'io.kubernetes.container.restartCount': '0',
        'io.kubernetes.container.terminationMessagePath': '/dev/termination-log',
      },
    });
  }
  return encodeMessage('runtime.v1.ListContainersResponse', { containers });
}

/** The request names the response size, so one fake method can answer every size. */
export function execSyncRequest(size: number): Buffer {
  return encodeMessage('runtime.v1.ExecSyncRequest', {
    container_id: hexId('b16', 0),
    cmd: ['head', '-c', String(size), '/dev/zero'],
    timeout: 60,
  });
}

/**
 * ExecSyncResponse{stdout: <size bytes>} encoded by hand: the codec's JSON route would base64 a
 * 64 MiB body first. Field 1, wire type 2 (length-delimited) = tag 0x0a, then a varint length.
 */
export function execSyncResponse(size: number): Buffer {
  const len: number[] = [];
  let n = size;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  len.push(n);
  const out = Buffer.alloc(1 + len.length + size, 0x78); // 'x' filler, like real output, not all zeros
  out[0] = 0x0a;
  Buffer.from(len).copy(out, 1);
  return out;
}

export function eventsRequest(): Buffer {
  return encodeMessage('runtime.v1.GetEventsRequest', {});
}

/** One ContainerEventResponse as containerd sends it: the container, its pod's status. */
export function containerEvent(i: number): Buffer {
  return encodeMessage('runtime.v1.ContainerEventResponse', {
    container_id: hexId('e7e7', i),
    container_event_type: i % 2 === 0 ? 'CONTAINER_CREATED_EVENT' : 'CONTAINER_STARTED_EVENT',
    created_at: String(1_700_000_000_000_000_000n + BigInt(i)),
    pod_sandbox_status: {
      id: hexId('5a4db0c', i >> 1),
      metadata: { name: `pod-${i >> 1}`, uid: `uid-${i >> 1}`, namespace: 'bench', attempt: 0 },
      state: 'SANDBOX_READY',
      created_at: String(1_700_000_000_000_000_000n),
      network: { ip: `10.88.${(i >> 8) & 255}.${i & 255}` },
      labels: { app: 'bench', 'io.kubernetes.pod.name': `pod-${i >> 1}` },
    },
  });
}

/** A few distinct events, repeated by the fake: building 10 000 messages would cost more than sending them. */
export function containerEvents(distinct = 64): Buffer[] {
  return Array.from({ length: distinct }, (_, i) => containerEvent(i));
}

/**
 * Calls like those a kubelet makes, for driving the Recorder without a proxy: a mix of a tiny
 * unary call, a list and an exec, each with real CRI bodies the recorder decodes to redact.
 */
export function syntheticCallMaker(): (i: number) => CallRecord {
  const kinds = [
    { method: VERSION_PATH, req: versionRequest(), res: versionResponse() },
    { method: LIST_CONTAINERS_PATH, req: listContainersRequest(), res: listContainersResponse(10) },
    { method: EXEC_SYNC_PATH, req: execSyncRequest(200), res: execSyncResponse(200) },
  ];
  const base = BigInt(Date.now()) * 1_000_000n;
  return (i) => {
    const k = kinds[i % kinds.length]!;
    return {
      method: k.method,
      startNs: base + BigInt(i) * 1000n,
      durationNs: 350_000,
      requests: [{ offsetNs: 0, data: k.req }],
      responses: [{ offsetNs: 300_000, data: k.res }],
      status: { code: 0, message: '' },
      end: 'trailers',
      requestMetadata: [['user-agent', 'grpc-go/1.60.1'], ['x-critap-bench', String(i)]],
      responseHeaders: [['content-type', 'application/grpc']],
      responseTrailers: [['grpc-status', '0'], ['grpc-message', '']],
      requestBytes: k.req.length + 5,
      responseBytes: k.res.length + 5,
      peer: { pid: 4242, exe: '/usr/bin/kubelet' },
      authority: 'localhost',
    };
  };
}

/** A recorded RuntimeService call that ended OK, its messages encoded from JSON (`method`: 'ListContainers'). */
export function recordedRuntimeCall(method: string, request: Record<string, unknown>, response: Record<string, unknown>, startNs: bigint, durationNs: number): CallRecord {
  const data = encodeMessage(`runtime.v1.${method}Response`, response);
  const sent = encodeMessage(`runtime.v1.${method}Request`, request);
  return {
    method: `${SERVICE}/${method}`,
    startNs,
    durationNs,
    requests: [{ offsetNs: 0, data: sent }],
    responses: [{ offsetNs: durationNs, data }],
    status: { code: 0, message: '' },
    end: 'trailers',
    requestMetadata: [],
    responseHeaders: [['content-type', 'application/grpc']],
    responseTrailers: [],
    requestBytes: sent.length + 5,
    responseBytes: data.length + 5,
  };
}
