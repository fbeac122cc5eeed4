/**
 * Starts a private, real containerd (CRI plugin, runc, a CNI bridge) plus two real
 * registries for the e2e tests: every instance lives in its own temp folder with its
 * own socket, ports, bridge and subnet, so several test processes can each run one.
 *
 * Teardown is layered so nothing outlives the test process: stop() shuts down
 * cleanly; an 'exit'/signal hook cleans up synchronously if a test crashes; and a
 * detached watchdog runs the same cleanup if the process is killed outright.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { acquireCniSlot } from './cni-slot.js';
import { cniConflist, containerdConfig, type ExtraRuntimeHandler } from './containerd-config.js';
import { makeCriClient } from './cri-client.js';
import { writeBusyboxImage } from './image.js';
import { repoRoot } from './paths.js';
import { guardInstance } from './instance-guard.js';
import type { RunningRegistry } from './registry.js';
import { instancePids, type InstanceState } from './runtime-cleanup.js';
import { startTestRegistries } from './test-registries.js';

const run = promisify(execFile);

export interface RealRuntime {
  kind: 'containerd';
  /** 'unix:///tmp/critap-rt-…/containerd.sock': the CRI endpoint. */
  endpoint: string;
  socketPath: string;
  /** For `ctr -a <ctrAddress> -n k8s.io …`. */
  ctrAddress: string;
  /** Locally imported pause-like image (busybox running `sleep`), set as containerd's sandbox_image. */
  sandboxImage: string;
  /** Plain-HTTP registry holding `image` (not yet pulled into containerd). */
  registry: { address: string; image: string };
  /** htpasswd-protected registry; containerd has no credentials for it, PullImage must send them. */
  authRegistry: { address: string; image: string; username: string; password: string };
  /** The instance's temp folder (logs: containerd.log, registry/registry.log, registry-auth/registry.log). */
  dir: string;
  /** containerd's own log. */
  logFile: string;
  /** Gives an image already in the store another name (ctr images tag). */
  tagImage(source: string, name: string): Promise<void>;
  /** Kills containerd, shims and their containers, registries; unmounts; removes the folder. Idempotent. */
  stop(): Promise<void>;
  /** SIGTERM containerd only (shims and containers keep running), for "runtime restarting" tests. */
  stopContainerd(): Promise<void>;
  /** Starts containerd again on the same socket and waits until CRI answers. */
  startContainerd(): Promise<void>;
}

/** Paths each tool is expected at; the ones setup-runtime.sh installs. */
const REQUIRED_TOOLS = [
  '/usr/bin/containerd', '/usr/bin/ctr', '/usr/bin/containerd-shim-runc-v2', '/usr/lib/cni/bridge',
  '/bin/busybox', '/usr/bin/docker-registry', '/usr/bin/skopeo', '/usr/bin/htpasswd',
];
const RUNC_PATHS = ['/usr/sbin/runc', '/usr/bin/runc'];

/** `extra`: tools a harness needs beside containerd's (CRI-O: conmon); setup-runtime.sh installs them all. */
export function missingTools(extra: string[] = []): string[] {
  const missing = [...REQUIRED_TOOLS, ...extra].filter((p) => !existsSync(p));
  if (!RUNC_PATHS.some((p) => existsSync(p))) missing.push('runc');
  return missing;
}

const READY_TIMEOUT_MS = 20_000;
const SANDBOX_IMAGE = 'critap.local/pause:1';

// ---- containerd -------------------------------------------------------------

/** A runtime daemon (containerd, crio) whose CRI socket answers Version once it is ready. */
export class RuntimeDaemon {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly logFile: string,
    readonly socketPath: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async start(): Promise<void> {
    if (this.child) return;
    const fd = openSync(this.logFile, 'a');
    const child = spawn(this.command, this.args, { stdio: ['ignore', fd, fd], env: this.env });
    closeSync(fd);
    this.child = child;
    let exitNote: string | undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, sig) => {
        exitNote = `${this.name} exited (${sig ?? `code ${code}`})`;
        if (this.child === child) this.child = undefined;
        resolve();
      });
      child.once('error', (err) => {
        exitNote = `${this.name} could not start: ${err.message}`;
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    const until = Date.now() + READY_TIMEOUT_MS;
    let lastError = 'no answer yet';
    while (Date.now() < until) {
      if (exitNote) break;
      if (existsSync(this.socketPath)) {
        // A fresh client each try: a channel that failed once backs off before reconnecting.
        const client = makeCriClient(`unix://${this.socketPath}`);
        try {
          await client.runtime('Version', {}, { timeoutMs: 1000 });
          return;
        } catch (err) {
          lastError = (err as Error).message;
        } finally {
          client.close();
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(
      `critap: ${this.name} did not answer CRI Version on ${this.socketPath} within ${READY_TIMEOUT_MS / 1000} s ` +
        `(${exitNote ?? lastError}). Last lines of ${this.logFile}:\n${logTail(this.logFile, 30)}`,
    );
  }

  /** SIGTERM, then SIGKILL after 10 s. Shims (conmon) are separate processes and keep running. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killer);
  }
}

export function logTail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---- the runtime --------------------------------------------------------------

export interface StartOptions {
  /**
   * Also offer gVisor's runsc as the runtime handler 'runsc' (the seed's `crictl runp --runtime
   * runsc`): through the runc shim, with a wrapper that runs runsc with --network=host
   * --ignore-cgroups, the only way a sandbox reaches SANDBOX_READY here.
   */
  runscHandler?: boolean;
}

export const RUNSC_HANDLER = 'runsc';

export async function startRealRuntime(opts: StartOptions = {}): Promise<RealRuntime> {
  const missing = missingTools();
  if (opts.runscHandler && !existsSync('/usr/bin/runsc')) missing.push('/usr/bin/runsc');
  if (missing.length) {
    throw new Error(`critap: cannot start a real runtime, missing: ${missing.join(', ')} (run scripts/setup-runtime.sh as root)`);
  }
  const dir = await mkdtemp('/tmp/critap-rt-');
  const slot = acquireCniSlot();
  const state: InstanceState = { dir, bridge: slot.bridge, slotFile: slot.file };
  const guard = guardInstance(state);

  const registries: RunningRegistry[] = [];
  try {
    const socketPath = join(dir, 'containerd.sock');
    const tmp = join(dir, 'tmp');
    await Promise.all(['tmp', 'cni', 'cni-ipam'].map((d) => mkdir(join(dir, d))));

    const [sandboxTar, regs] = await Promise.all([
      writeBusyboxImage(tmp, 'pause.tar', { tag: SANDBOX_IMAGE, cmd: ['sleep', '2147483647'] }),
      startTestRegistries(dir, tmp, [], (r) => registries.push(r)),
    ]);
    const handlers: ExtraRuntimeHandler[] = [];
    // runsc's state under our folder: the cleanup finds its sandbox and gofer processes by it.
    if (opts.runscHandler) handlers.push({ name: RUNSC_HANDLER, binaryName: join(repoRoot(), 'test', 'support', 'runsc-wrapper.sh'), root: join(dir, 'runsc-root') });

    const configFile = join(dir, 'config.toml');
    await writeFile(
      configFile,
      containerdConfig({
        dir,
        socketPath,
        sandboxImage: SANDBOX_IMAGE,
        cniConfDir: join(dir, 'cni'),
        insecureRegistries: [regs.registry.address, regs.authRegistry.address],
        extraHandlers: handlers,
      }),
    );
    await writeFile(
      join(dir, 'cni', '10-critap.conflist'),
      cniConflist({ name: `critap-${slot.index}`, bridge: slot.bridge, subnet: slot.subnet, ipamDataDir: join(dir, 'cni-ipam') }),
    );
    const containerd = new RuntimeDaemon('containerd', 'containerd', ['--config', configFile], join(dir, 'containerd.log'), socketPath);
    await containerd.start();
    await importImage(socketPath, sandboxTar.path);

    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopped ??= (async () => {
        await containerd.stop();
        for (const r of registries) r.process.kill('SIGTERM');
        guard.cleanup(); // watchdog, shims, their containers (runsc's too), mounts, bridge, folder, slot
      })());

    return {
      kind: 'containerd',
      endpoint: `unix://${socketPath}`,
      socketPath,
      ctrAddress: socketPath,
      sandboxImage: SANDBOX_IMAGE,
      registry: regs.registry,
      authRegistry: regs.authRegistry,
      dir,
      logFile: join(dir, 'containerd.log'),
      stop,
      stopContainerd: () => containerd.stop(),
      startContainerd: () => containerd.start(),
      tagImage: (source, name) => ctrTag(socketPath, source, name),
    };
  } catch (err) {
    guard.cleanup(); // also kills the registries and frees the CNI slot
    throw err;
  }
}

async function ctrTag(socketPath: string, source: string, name: string): Promise<void> {
  try {
    await run('ctr', ['-a', socketPath, '-n', 'k8s.io', 'images', 'tag', '--force', source, name], { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`critap: ctr could not tag ${source} as ${name}: ${e.stderr?.trim() || e.message}`);
  }
}

async function importImage(socketPath: string, tar: string): Promise<void> {
  try {
    await run('ctr', ['-a', socketPath, '-n', 'k8s.io', 'images', 'import', tar], { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`critap: ctr could not import ${tar}: ${e.stderr?.trim() || e.message}`);
  }
}

// ---- node:test entry point ----------------------------------------------------------

/** Why this machine cannot run a real runtime, or undefined when it can (after installing if needed). */
export async function unavailableReason(extraTools: string[] = []): Promise<string | undefined> {
  if (process.platform !== 'linux') return `platform is ${process.platform}, containerd needs linux`;
  if (process.getuid?.() !== 0) return 'not running as root (containerd and runc need root)';
  if (missingTools(extraTools).length === 0) return undefined;
  if (!existsSync('/usr/bin/apt-get')) return `missing ${missingTools(extraTools).join(', ')} and no apt-get to install them`;
  const script = join(repoRoot(), 'scripts', 'setup-runtime.sh');
  try {
    const { stdout } = await run('bash', [script], { timeout: 600_000 });
    process.stderr.write(stdout);
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`critap: ${script} failed: ${e.stderr?.trim() || e.message}`);
  }
  const still = missingTools(extraTools);
  return still.length ? `still missing after setup-runtime.sh: ${still.join(', ')}` : undefined;
}

/**
 * For node:test: starts a runtime (stopped automatically after the test), or skips the
 * calling test loudly when the machine cannot run one. With CI=true it throws instead,
 * so CI fails rather than silently skipping.
 */
export async function realRuntimeOrSkip(t: TestContext, opts: StartOptions = {}): Promise<RealRuntime | undefined> {
  const reason = await unavailableReason();
  if (reason) {
    if (process.env.CI === 'true') throw new Error(`critap: a real runtime is required in CI but unavailable: ${reason}`);
    const bar = '!'.repeat(78);
    console.warn(`\n${bar}\n!! SKIPPING real-runtime test "${t.name}": ${reason}\n${bar}\n`);
    t.skip(`no real runtime: ${reason}`);
    return undefined;
  }
  const rt = await startRealRuntime(opts);
  t.after(() => rt.stop());
  return rt;
}

/** Pids of processes (containerd, shims, containers, registries) belonging to a runtime; for tests of the harness. */
export function runtimePids(rt: Pick<RealRuntime, 'dir'>): number[] {
  return instancePids(`${rt.dir}/`);
}
