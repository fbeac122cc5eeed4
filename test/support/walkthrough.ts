/**
 * The seed walkthrough: one pod's whole life through the CRI, the way the kubelet drives it.
 * Run against any endpoint (containerd, `critap proxy`, `critap replay`); it returns every
 * step's request and answer so tests can compare runs and recordings.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { CriClient, CriMessage } from './cri-client.js';

export interface WalkStep {
  service: 'RuntimeService' | 'ImageService';
  method: string;
  request: CriMessage;
  response: CriMessage;
}

export interface WalkOptions {
  /** Image to pull, e.g. '127.0.0.1:PORT/critap/busybox:1'. */
  image: string;
  /** Folder for pod logs. */
  logDir: string;
  podName?: string;
}

export async function seedWalkthrough(cri: CriClient, opts: WalkOptions): Promise<WalkStep[]> {
  const steps: WalkStep[] = [];
  const call = async (service: WalkStep['service'], method: string, request: CriMessage) => {
    const response = service === 'RuntimeService' ? await cri.runtime(method, request) : await cri.image(method, request);
    steps.push({ service, method, request, response });
    return response;
  };
  const podConfig = {
    metadata: { name: opts.podName ?? 'critap-walk', uid: 'critap-walk-uid', namespace: 'critap-e2e', attempt: 0 },
    log_directory: join(opts.logDir, 'pod-logs'),
    labels: { app: 'critap-walk' },
    linux: {},
  };
  await call('RuntimeService', 'Version', { version: 'v1' });
  await call('RuntimeService', 'Status', {});
  await call('ImageService', 'PullImage', { image: { image: opts.image }, sandbox_config: podConfig });
  await call('ImageService', 'ListImages', {});
  const { pod_sandbox_id: podId } = await call('RuntimeService', 'RunPodSandbox', { config: podConfig });
  const { container_id: containerId } = await call('RuntimeService', 'CreateContainer', {
    pod_sandbox_id: podId,
    config: {
      metadata: { name: 'sleeper', attempt: 0 },
      image: { image: opts.image },
      command: ['sleep', '3600'],
      envs: [{ key: 'GREETING', value: Buffer.from('hello') }],
      log_path: 'sleeper.log',
      linux: {},
    },
    sandbox_config: podConfig,
  });
  await call('RuntimeService', 'StartContainer', { container_id: containerId });
  await call('RuntimeService', 'PodSandboxStatus', { pod_sandbox_id: podId });
  await call('RuntimeService', 'ContainerStatus', { container_id: containerId });
  await call('RuntimeService', 'ExecSync', { container_id: containerId, cmd: ['sh', '-c', 'echo hi; echo $GREETING >&2'], timeout: 10 });
  await call('RuntimeService', 'Exec', { container_id: containerId, cmd: ['sh'], stdout: true });
  await call('RuntimeService', 'ListContainers', {});
  await call('RuntimeService', 'ListPodSandbox', {});
  await call('RuntimeService', 'StopContainer', { container_id: containerId, timeout: 0 });
  await call('RuntimeService', 'RemoveContainer', { container_id: containerId });
  await call('RuntimeService', 'StopPodSandbox', { pod_sandbox_id: podId });
  await call('RuntimeService', 'RemovePodSandbox', { pod_sandbox_id: podId });
  await call('ImageService', 'RemoveImage', { image: { image: opts.image } });
  return steps;
}

const HEX64 = /[0-9a-f]{64}/g;
const TIME_KEYS = new Set(['created_at', 'started_at', 'finished_at', 'createdAt', 'startedAt', 'finishedAt']);
const ADDRESS_KEYS = new Set(['ip', 'additional_ips', 'additionalIps']);
/** Lists whose order the runtime does not define (containerd walks a map). */
const UNORDERED_KEYS = new Set(['images', 'items', 'containers']);

/**
 * What must be equal between two runs of the walkthrough: everything but generated ids,
 * timestamps, pod addresses and the one-time token in streaming URLs.
 */
export function normalizeAnswer(value: unknown, key = ''): unknown {
  if (TIME_KEYS.has(key)) return '<time>';
  if (ADDRESS_KEYS.has(key)) return '<address>';
  if (typeof value === 'string') {
    if (key === 'url') return value.replace(/\/[^/]+\/[^/]+$/, '/<kind>/<token>').replace(/:\d+\//, ':<port>/');
    return value.replace(HEX64, '<id>');
  }
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) {
    const items = value.map((v) => normalizeAnswer(v));
    return UNORDERED_KEYS.has(key) ? items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : items;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalizeAnswer(v, k);
    return out;
  }
  return value;
}

/** Two runs of the walkthrough (straight to the runtime, and through critap) gave the same answers. */
export function assertSameAnswers(straight: WalkStep[], proxied: WalkStep[]): void {
  assert.equal(proxied.length, straight.length);
  for (let i = 0; i < straight.length; i++) {
    assert.equal(proxied[i]!.method, straight[i]!.method);
    assert.deepEqual(normalizeAnswer(proxied[i]!.response), normalizeAnswer(straight[i]!.response), `${straight[i]!.method} answers differ`);
  }
}
