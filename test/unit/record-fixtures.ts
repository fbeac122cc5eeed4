/**
 * Calls built from real protobuf bytes (encoded with the project's CRI codec), shared by the
 * record-* tests. Secrets and markers are distinct random-looking strings so a byte scan of the
 * recording folder finds them only if they were stored literally.
 */
import type { CallRecord, Header } from '../../src/call.js';
import { encodeMessage } from '../../src/cri/codec.js';
import { lookupMethod } from '../../src/cri/methods.js';

export const SECRET_PASSWORD = 'pw-Zq8vXk3LmN7tR2wY';
export const SECRET_ENV = 'env-Hj4sPq9WcV6bN1xK';
export const SECRET_TOKEN = 'tok-Ue5rTy8IoP2aSd7F';
/** Stored as is: proves the byte scan sees what is in the folder. */
export const VISIBLE_IMAGE = 'registry.test/app-Gf3hJk6LzX9cVb';

const T0 = 1_790_000_000_123_456_789n;

/** KeyValue.value is `bytes` in the CRI schema: JSON carries it as base64. */
const b64 = (s: string) => Buffer.from(s).toString('base64');

export interface CallSpec {
  method: string;
  request?: unknown;
  responses?: unknown[];
  startNs?: bigint;
  durationNs?: number;
  code?: number;
  metadata?: Header[];
}

export function makeCall(spec: CallSpec): CallRecord {
  const info = lookupMethod(spec.method);
  if (!info) throw new Error(`test fixture: unknown method ${spec.method}`);
  const req = encodeMessage(info.requestType, spec.request ?? {});
  const res = (spec.responses ?? (spec.code ? [] : [{}])).map((r) => encodeMessage(info.responseType, r));
  return {
    method: spec.method,
    startNs: spec.startNs ?? T0,
    durationNs: spec.durationNs ?? 412_345,
    requests: [{ offsetNs: 0, data: req }],
    responses: res.map((data, i) => ({ offsetNs: 100_000 * (i + 1), data })),
    status: { code: spec.code ?? 0, message: spec.code ? 'something failed' : '' },
    end: 'trailers',
    requestMetadata: spec.metadata ?? [['content-type', 'application/grpc'], ['user-agent', 'grpc-go/1.60.1']],
    responseHeaders: [['content-type', 'application/grpc']],
    responseTrailers: [['grpc-status', String(spec.code ?? 0)]],
    requestBytes: req.length + 5,
    responseBytes: res.reduce((n, b) => n + b.length + 5, 0),
    peer: { pid: 4242, exe: '/usr/bin/kubelet' },
    authority: 'localhost',
    propagatedTraceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01',
  };
}

export const V1 = '/runtime.v1.RuntimeService/';
export const IMG = '/runtime.v1.ImageService/';

export function versionCall(startNs?: bigint): CallRecord {
  return makeCall({ method: V1 + 'Version', request: { version: '0.1.0' }, responses: [{ version: '0.1.0', runtimeName: 'containerd', runtimeVersion: 'v2.1.0', runtimeApiVersion: 'v1' }], startNs });
}

export function sandboxConfig(pod: string) {
  return { metadata: { name: pod, namespace: 'web', uid: `uid-${pod}`, attempt: 0 } };
}

export function runPodSandbox(sandboxId: string, startNs: bigint, pod = 'nginx'): CallRecord {
  return makeCall({ method: V1 + 'RunPodSandbox', request: { config: sandboxConfig(pod) }, responses: [{ podSandboxId: sandboxId }], startNs });
}

export function createContainer(sandboxId: string, containerId: string, startNs: bigint, name = 'app', pod = 'nginx'): CallRecord {
  return makeCall({
    method: V1 + 'CreateContainer',
    request: {
      podSandboxId: sandboxId,
      config: { metadata: { name }, image: { image: VISIBLE_IMAGE }, envs: [{ key: 'DB_PASSWORD', value: b64(SECRET_ENV) }, { key: 'MODE', value: b64('prod') }] },
      sandboxConfig: sandboxConfig(pod),
    },
    responses: [{ containerId }],
    startNs,
  });
}

export function startContainer(containerId: string, startNs: bigint): CallRecord {
  return makeCall({ method: V1 + 'StartContainer', request: { containerId }, responses: [{}], startNs });
}

export function pullImage(startNs: bigint): CallRecord {
  return makeCall({
    method: IMG + 'PullImage',
    request: { image: { image: VISIBLE_IMAGE }, auth: { username: 'bob', password: SECRET_PASSWORD } },
    responses: [{ imageRef: 'sha256:0123456789abcdef' }],
    startNs,
    metadata: [['content-type', 'application/grpc'], ['authorization', `Bearer ${SECRET_TOKEN}`], ['x-registry-token', SECRET_TOKEN]],
  });
}

export { T0 };
