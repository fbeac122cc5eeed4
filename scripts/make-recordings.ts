/**
 * Makes the recordings shipped in recordings/ (see recordings/README.md):
 *
 * - seed-walkthrough: a private real containerd (test/support/runtime.ts) with `critap proxy
 *   --record` in front of it, driven through one pod's life by the seed walkthrough.
 * - container-events-synthetic: a GetContainerEvents stream. containerd 1.6 (Debian 12) does
 *   not implement that call, so the stream comes from a fake runtime that emits one
 *   container's life cycle (created, started, stopped, deleted) with realistic gaps; the
 *   recording is made the same way, through `critap proxy --record`.
 *
 * - kubelet-static-pod: a private real containerd, `critap proxy --record` in front of it, and a
 *   real standalone kubelet (../shared/bin/kubelet or CRITAP_TEST_KUBELET) through it running THE
 *   static pod (test/support/static-pod.ts) for about a minute, then deleting its manifest.
 *
 * Usage: npm run build && node dist/scripts/make-recordings.js [--only seed|events|kubelet] [--out DIR]
 * Needs root and the runtime tools (scripts/setup-runtime.sh) for the seed walkthrough and the kubelet.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type * as grpc from '@grpc/grpc-js';
import { encodeMessage } from '../src/cri/codec.js';
import { startObservedProxy } from '../src/proxy/observed-proxy.js';
import { findBinary } from '../test/support/binaries.js';
import { makeCriClient } from '../test/support/cri-client.js';
import { startKubelet } from '../test/support/kubelet.js';
import { STATIC_POD } from '../test/support/static-pod.js';
import { runStaticPodLife } from '../test/support/static-pod-life.js';
import { rawClient, startFakeUpstream, streamCall, tempSocketPath } from '../test/support/fake-upstream.js';
import { repoRoot } from '../test/support/paths.js';
import { startRealRuntime } from '../test/support/runtime.js';
import { seedWalkthrough } from '../test/support/walkthrough.js';

const EVENTS = '/runtime.v1.RuntimeService/GetContainerEvents';

/** LevelDB's own diagnostics (LOG, LOG.old) and the writer's pid file are not part of a recording. */
async function tidy(dir: string): Promise<void> {
  for (const f of await readdir(join(dir, 'db'))) if (f === 'LOG' || f === 'LOG.old' || f === 'LOCK') await rm(join(dir, 'db', f));
  await rm(join(dir, 'writer.pid'), { force: true });
}

async function seed(out: string): Promise<void> {
  const dir = join(out, 'seed-walkthrough');
  await rm(dir, { recursive: true, force: true });
  const rt = await startRealRuntime();
  try {
    const proxy = await startObservedProxy({ listen: tempSocketPath('critap'), upstream: rt.endpoint, record: dir, peerLookup: false });
    const logDir = await mkdtemp(join(tmpdir(), 'critap-walk-'));
    const cri = makeCriClient(proxy.endpoint);
    try {
      const steps = await seedWalkthrough(cri, { image: rt.registry.image, logDir });
      process.stdout.write(`seed-walkthrough: ${steps.length} calls recorded\n`);
    } finally {
      cri.close();
      await proxy.close();
      await rm(logDir, { recursive: true, force: true });
    }
  } finally {
    await rt.stop();
  }
  await tidy(dir);
}

const CONTAINER_ID = 'b5f3c0d2a9e14c7f8e6d4b2a0c9e8f7d6c5b4a3928171605f4e3d2c1b0a99887';
const SANDBOX_ID = '4e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5a4938271605f4e3d2c1b0a9f';

/** One event as containerd 1.7+ sends it: the container, its pod's status and its own. */
function event(type: string, state: string, createdAtNs: bigint, extra: Record<string, unknown> = {}): Buffer {
  return encodeMessage('runtime.v1.ContainerEventResponse', {
    container_id: CONTAINER_ID,
    container_event_type: type,
    created_at: String(createdAtNs),
    pod_sandbox_status: {
      id: SANDBOX_ID,
      metadata: { name: 'web', uid: 'c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8', namespace: 'default', attempt: 0 },
      state: 'SANDBOX_READY',
      created_at: String(createdAtNs - 2_000_000_000n),
      network: { ip: '10.88.0.12' },
      labels: { app: 'web' },
    },
    containers_statuses: [
      {
        id: CONTAINER_ID,
        metadata: { name: 'nginx', attempt: 0 },
        state,
        created_at: String(createdAtNs),
        image: { image: 'registry.example/library/nginx:1.25' },
        image_ref: 'registry.example/library/nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31',
        log_path: '/var/log/pods/default_web_c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8/nginx/0.log',
        ...extra,
      },
    ],
  });
}

async function events(out: string): Promise<void> {
  const dir = join(out, 'container-events-synthetic');
  await rm(dir, { recursive: true, force: true });
  // Gaps like a small container's life: created, started ~0.1 s later, stopped after running a
  // while, deleted soon after. Kept short so replaying at the recorded pace stays quick.
  const base = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z
  const life: Array<[delayMs: number, msg: Buffer]> = [
    [40, event('CONTAINER_CREATED_EVENT', 'CONTAINER_CREATED', base)],
    [120, event('CONTAINER_STARTED_EVENT', 'CONTAINER_RUNNING', base + 120_000_000n, { started_at: String(base + 118_000_000n) })],
    [300, event('CONTAINER_STOPPED_EVENT', 'CONTAINER_EXITED', base + 420_000_000n, { started_at: String(base + 118_000_000n), finished_at: String(base + 419_000_000n), exit_code: 0, reason: 'Completed' })],
    [150, event('CONTAINER_DELETED_EVENT', 'CONTAINER_EXITED', base + 570_000_000n, { started_at: String(base + 118_000_000n), finished_at: String(base + 419_000_000n), exit_code: 0, reason: 'Completed' })],
  ];
  const fake = await startFakeUpstream({
    stream: {
      [EVENTS]: async (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        for (const [delay, msg] of life) {
          await new Promise((r) => setTimeout(r, delay));
          if (call.cancelled) return;
          call.write(msg);
        }
        // Like containerd, the stream stays open: the client leaves when it has seen enough.
      },
    },
  });
  const proxy = await startObservedProxy({ listen: tempSocketPath('critap'), upstream: fake.endpoint, record: dir, peerLookup: false });
  const client = rawClient(proxy.endpoint);
  try {
    await new Promise<void>((resolve, reject) => {
      const call = streamCall(client, EVENTS, Buffer.alloc(0));
      let n = 0;
      call.on('data', () => {
        if (++n === life.length) setTimeout(() => call.cancel(), 50);
      });
      call.on('error', (err: grpc.ServiceError) => (err.code === 1 ? resolve() : reject(err)));
      call.on('end', () => resolve());
    });
    process.stdout.write(`container-events-synthetic: a ${life.length}-event stream recorded\n`);
  } finally {
    client.close();
    await proxy.close();
    await fake.close();
  }
  await tidy(dir);
}

/** How long THE static pod runs in the recording, and how long the kubelet goes on relisting after it stopped. */
const KUBELET_POD_RUNS_MS = 60_000;
const KUBELET_AFTER_STOP_MS = 5_000;

async function kubelet(out: string): Promise<void> {
  const found = findBinary('kubelet');
  if (!('path' in found)) throw new Error(`critap: cannot record the kubelet: ${found.missing}`);
  const dir = join(out, 'kubelet-static-pod');
  await rm(dir, { recursive: true, force: true });
  const rt = await startRealRuntime();
  const listen = tempSocketPath('critap');
  try {
    const proxy = await startObservedProxy({ listen, upstream: rt.endpoint, record: dir, peerLookup: false });
    const runtime = makeCriClient(rt.endpoint);
    try {
      const k = await startKubelet({
        binary: found.path,
        endpoint: proxy.endpoint,
        cleanupEndpoint: rt.endpoint,
        nodeName: STATIC_POD.nodeName,
        podInfraImage: rt.sandboxImage,
      });
      try {
        const life = await runStaticPodLife({ kubelet: k, image: rt.registry.image, runtime, holdMs: KUBELET_POD_RUNS_MS });
        // A few PLEG relists of the stopped pod: what a replay must answer after the stop too.
        await new Promise((r) => setTimeout(r, KUBELET_AFTER_STOP_MS));
        process.stdout.write(`kubelet-static-pod: Ready after ${life.readyMs} ms, ran ${KUBELET_POD_RUNS_MS / 1000} s, stopped ${life.stopMs} ms after its manifest went\n`);
      } finally {
        await k.stop();
      }
    } finally {
      runtime.close();
      await proxy.close();
    }
  } finally {
    await rt.stop();
    await rm(dirname(listen), { recursive: true, force: true });
  }
  await tidy(dir);
}

const ONLY = ['seed', 'events', 'kubelet'] as const;
const { values } = parseArgs({ options: { only: { type: 'string' }, out: { type: 'string' } } });
const out = values.out ?? join(repoRoot(), 'recordings');
if (values.only !== undefined && !(ONLY as readonly string[]).includes(values.only)) {
  process.stderr.write(`critap: --only wants ${ONLY.join(', ')}, got "${values.only}"\n`);
  process.exit(2);
}
const wanted = (what: (typeof ONLY)[number]) => values.only === undefined || values.only === what;
if (wanted('seed')) await seed(out);
if (wanted('events')) await events(out);
if (wanted('kubelet')) await kubelet(out);
