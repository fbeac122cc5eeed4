/**
 * A real standalone kubelet (no API server: its pods are static pods in a manifest folder)
 * in a temp folder with its own ports, pointed at a CRI endpoint (a private containerd, or
 * critap in front of one). See /work/shared/notes/kubelet-here.md for the flags.
 *
 * Only one kubelet runs on the machine at a time (kubelet-lock.ts). Teardown is layered like
 * runtime.ts: stop() stops the kubelet and, over CRI, its pods; an 'exit'/signal hook and a
 * detached watchdog run the synchronous part (kubelet-cleanup.ts) if the test dies first.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { makeCriClient } from './cri-client.js';
import {
  CONTAINER_LOG_LINKS, POD_LOG_DIR, cleanupKubeletSync, kubeletPids, readSysctls, type KubeletState,
} from './kubelet-cleanup.js';
import { KUBELET_LOCK, acquireKubeletLock } from './kubelet-lock.js';
import { guardUntilExit, type ExitGuard } from './exit-guard.js';
import { freePort } from './registry.js';
import { logTail } from './runtime.js';

export interface KubeletOptions {
  /** Path of the kubelet binary (binariesOrSkip(t, 'kubelet') or findBinary('kubelet')). */
  binary: string;
  /** CRI endpoint the kubelet talks to, `unix://…`. */
  endpoint: string;
  /** Where stop() removes the kubelet's pods; the runtime itself when `endpoint` is a proxy that may be gone by then. */
  cleanupEndpoint?: string;
  /** `--hostname-override`: static pods are named `<pod>-<nodeName>`. */
  nodeName: string;
  /** `--pod-infra-container-image`: an image the runtime has (never a short name). */
  podInfraImage: string;
  /** KubeletTracing on, every CRI call's CLIENT span exported over OTLP/gRPC to `otlpEndpoint` (`host:port` or `http://host:port`). */
  tracing?: { otlpEndpoint: string };
  /** klog verbosity; 4 logs each CRI call's outcome. */
  verbosity?: number;
}

export interface KubeletPod {
  metadata: { name: string; namespace: string; uid: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; ready: boolean; started?: boolean; state?: Record<string, unknown> }[] };
}

export interface RunningKubelet {
  dir: string;
  manifestsDir: string;
  /** The kubelet's stderr (klog). */
  logFile: string;
  nodeName: string;
  pid: number;
  /** Writes `<manifestsDir>/<name>.yaml`; the pod appears as `<name>-<nodeName>`. */
  writeStaticPod(name: string, manifest: string): Promise<void>;
  removeStaticPod(name: string): Promise<void>;
  /** The kubelet's own view of its pods (GET /pods on its API port; static pods carry their status). */
  pods(): Promise<KubeletPod[]>;
  /** Polls `probe` every 200 ms until it returns something other than undefined; fails with the log's tail. */
  waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs?: number): Promise<T>;
  /** The kubelet's log so far; after stop(), all of it (the file itself is gone then). */
  log(): string;
  /** SIGTERM the kubelet, stop and remove its pods on the runtime, undo what it made on the machine. Idempotent. */
  stop(): Promise<void>;
}

const HEALTHZ_TIMEOUT_MS = 30_000;

// ---- the kubelet ------------------------------------------------------------------------

/** The --config file: KubeletTracing, plus the auth lines a standalone kubelet needs once a config file brings v1beta1 defaults. */
export function tracingConfig(otlpEndpoint: string): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    featureGates: { KubeletTracing: true },
    tracing: { endpoint: otlpEndpoint.replace(/^https?:\/\//, ''), samplingRatePerMillion: 1_000_000 },
  });
}

/** The kubelet's --root-dir inside the test's folder. */
const rootDirOf = (dir: string) => join(dir, 'root');

/**
 * Makes the kubelet's root dir a shared bind mount before the kubelet starts. A kubelet whose root
 * dir is not on a shared mount makes it one itself at start (bind-mounting it on itself, then
 * --make-rshared), while its pod-resources server is already creating its socket in that folder
 * (a temporary file renamed into place): once here the rename crossed the new mount, failed with
 * "invalid cross-device link", and the kubelet exited. On a node `/` is usually shared already, so
 * the kubelet finds its root shared and leaves it, as it does with this one. The kubelet's cleanup
 * unmounts everything under the test's folder, this mount too.
 */
function shareRootDir(root: string): void {
  execFileSync('mount', ['--bind', root, root], { stdio: 'pipe' });
  execFileSync('mount', ['--make-rshared', root], { stdio: 'pipe' });
}

export function kubeletArgs(o: { dir: string; endpoint: string; nodeName: string; podInfraImage: string; port: number; healthzPort: number; verbosity: number; config?: string }): string[] {
  const root = rootDirOf(o.dir);
  return [
    `--container-runtime-endpoint=${o.endpoint}`,
    `--pod-manifest-path=${join(o.dir, 'manifests')}`,
    // inotify sees manifest changes at once; this is only the fallback re-read.
    '--file-check-frequency=2s',
    `--root-dir=${root}`,
    `--cert-dir=${join(root, 'pki')}`,
    `--volume-plugin-dir=${join(root, 'volume-plugins')}`,
    `--hostname-override=${o.nodeName}`,
    `--pod-infra-container-image=${o.podInfraImage}`,
    '--fail-swap-on=false',
    '--cgroup-driver=cgroupfs',
    '--address=127.0.0.1',
    `--port=${o.port}`,
    '--read-only-port=0',
    '--healthz-bind-address=127.0.0.1',
    `--healthz-port=${o.healthzPort}`,
    // Machine-wide state a test must not leave behind: iptables chains; images deleted from a
    // shared disk's runtime when the disk fills.
    '--make-iptables-util-chains=false',
    '--image-gc-high-threshold=100',
    '--image-gc-low-threshold=99',
    `--v=${o.verbosity}`,
    ...(o.config ? [`--config=${o.config}`] : []),
  ];
}

function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end();
  });
}

/** Machine-wide folders the kubelet creates when missing; removed again only if it was us. */
const MACHINE_DIRS = [POD_LOG_DIR, CONTAINER_LOG_LINKS, '/var/lib/kubelet'];

export async function startKubelet(opts: KubeletOptions): Promise<RunningKubelet> {
  const lock = await acquireKubeletLock();
  let state: KubeletState | undefined;
  let guard: ExitGuard | undefined;
  try {
    const others = kubeletPids();
    if (others.length) throw new Error(`critap: a kubelet not started by a test runs here (pids ${others.join(', ')}); it would share /var/log/pods with ours`);
    const dir = await mkdtemp('/tmp/critap-kubelet-');
    lock.noteDir(dir);
    state = {
      dir,
      pods: [],
      createdDirs: MACHINE_DIRS.filter((d) => !existsSync(d)),
      sysctls: readSysctls(),
      lockFile: KUBELET_LOCK,
      ownerPid: process.pid,
    };
    const stateFile = join(dir, 'kubelet.json');
    const saveState = () => writeFile(stateFile, JSON.stringify(state));
    await saveState();
    const guarded = state;
    guard = guardUntilExit({
      name: 'critap-kubelet-watchdog',
      script: fileURLToPath(new URL('./kubelet-cleanup.js', import.meta.url)),
      stateFile,
      cleanupSync: () => cleanupKubeletSync(guarded),
    });
    const manifestsDir = join(dir, 'manifests');
    await mkdir(manifestsDir);
    await mkdir(rootDirOf(dir));
    shareRootDir(rootDirOf(dir));
    let config: string | undefined;
    if (opts.tracing) {
      config = join(dir, 'kubelet-config.yaml');
      await writeFile(config, tracingConfig(opts.tracing.otlpEndpoint));
    }
    const logFile = join(dir, 'kubelet.log');
    const port = await freePort();
    let healthzPort = await freePort();
    while (healthzPort === port) healthzPort = await freePort();
    const args = kubeletArgs({ dir, endpoint: opts.endpoint, nodeName: opts.nodeName, podInfraImage: opts.podInfraImage, port, healthzPort, verbosity: opts.verbosity ?? 4, config });
    const fd = openSync(logFile, 'a');
    const child = spawn(opts.binary, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    let exitNote: string | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, sig) => ((exitNote = `kubelet exited (${sig ?? `code ${code}`})`), resolve()));
      child.once('error', (err) => ((exitNote = `kubelet could not start: ${err.message}`), resolve()));
    });
    let finalLog: string | undefined;
    const log = () => {
      if (finalLog !== undefined) return finalLog;
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    };
    const waitFor = async <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> => {
      const until = Date.now() + timeoutMs;
      let lastError = '';
      for (;;) {
        try {
          const found = await probe();
          if (found !== undefined) return found;
        } catch (err) {
          lastError = `: ${(err as Error).message}`;
        }
        if (exitNote) throw new Error(`critap: ${exitNote} while waiting for ${what}. Last lines of ${logFile}:\n${logTail(logFile, 30)}`);
        if (Date.now() > until) throw new Error(`critap: no ${what} within ${timeoutMs / 1000} s${lastError}. Last lines of ${logFile}:\n${logTail(logFile, 30)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const st = state;
    const g = guard;
    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        }
        finalLog = log(); // the folder, and the log file in it, go below
        await removePods(opts.cleanupEndpoint ?? opts.endpoint, opts.nodeName);
        g.cleanup(); // the synchronous part: the kubelet's folder, logs, cgroups, sysctls
        lock.release();
      })());
    const kubelet: RunningKubelet = {
      dir,
      manifestsDir,
      logFile,
      nodeName: opts.nodeName,
      pid: child.pid ?? 0,
      async writeStaticPod(name, manifest) {
        const full = `${name}-${opts.nodeName}`;
        if (!st.pods.includes(full)) {
          st.pods.push(full);
          await saveState();
        }
        // Write beside, then rename: the kubelet must never read half a manifest.
        const tmp = join(dir, `${name}.yaml.tmp`);
        await writeFile(tmp, manifest);
        await rm(join(manifestsDir, `${name}.yaml`), { force: true });
        await rename(tmp, join(manifestsDir, `${name}.yaml`));
      },
      async removeStaticPod(name) {
        await rm(join(manifestsDir, `${name}.yaml`), { force: true });
      },
      async pods() {
        const { status, body } = await httpGet(`https://127.0.0.1:${port}/pods`, 2000);
        if (status !== 200) throw new Error(`GET /pods answered ${status}: ${body.slice(0, 200)}`);
        return ((JSON.parse(body) as { items?: KubeletPod[] }).items ?? []);
      },
      waitFor,
      log,
      stop,
    };
    try {
      await waitFor('kubelet /healthz ok', async () => {
        const r = await httpGet(`http://127.0.0.1:${healthzPort}/healthz`, 1000);
        return r.status === 200 && r.body.trim() === 'ok' ? true : undefined;
      }, HEALTHZ_TIMEOUT_MS);
    } catch (err) {
      await stop();
      throw err;
    }
    return kubelet;
  } catch (err) {
    guard?.cleanup();
    lock.release();
    throw err;
  }
}

/** Stops and removes the kubelet's pods (static pods are named `<pod>-<node>`), so the runtime is as before. */
async function removePods(endpoint: string, nodeName: string): Promise<void> {
  const cri = makeCriClient(endpoint);
  try {
    const { items = [] } = (await cri.runtime('ListPodSandbox', {}, { timeoutMs: 10_000 })) as { items?: { id: string; metadata?: { name?: string } }[] };
    for (const pod of items.filter((p) => p.metadata?.name?.endsWith(`-${nodeName}`))) {
      await cri.runtime('StopPodSandbox', { pod_sandbox_id: pod.id }, { timeoutMs: 30_000 });
      await cri.runtime('RemovePodSandbox', { pod_sandbox_id: pod.id }, { timeoutMs: 30_000 });
    }
  } catch (err) {
    // The runtime may already be gone; its own cleanup then kills what is left.
    process.stderr.write(`critap: could not remove the kubelet's pods on ${endpoint}: ${(err as Error).message}\n`);
  } finally {
    cri.close();
  }
}
