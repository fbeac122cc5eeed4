/**
 * Starts a private, real CRI-O (v1.26 from ../shared/bin or CRITAP_TEST_CRIO, Debian's conmon and
 * runc behind the project's runc wrapper, a CNI bridge of its own) for the e2e tests, in the same
 * shape as the containerd harness (runtime.ts): own temp folder, socket, containers-storage,
 * registries.conf, signature policy, CNI slot, and the same two local registries. Cleanup is
 * layered the same way (stop(), exit hooks, watchdog: instance-guard.ts); everything the instance
 * starts (crio, conmon, the containers under conmon, pinns) mentions its folder, and every mount it
 * makes (overlay layers, shm, pinned namespaces) lies under it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { binariesOrSkip } from './binaries.js';
import { acquireCniSlot } from './cni-slot.js';
import { cniConflist } from './containerd-config.js';
import { ACCEPT_ANYTHING_POLICY, crioConfig, registriesConf, storageConf } from './crio-config.js';
import { guardInstance } from './instance-guard.js';
import { repoRoot } from './paths.js';
import type { RunningRegistry } from './registry.js';
import type { InstanceState } from './runtime-cleanup.js';
import { RuntimeDaemon, unavailableReason } from './runtime.js';
import { startTestRegistries } from './test-registries.js';

const run = promisify(execFile);

export interface CrioRuntime {
  kind: 'crio';
  /** 'unix:///tmp/critap-crio-…/crio.sock': the CRI endpoint. */
  endpoint: string;
  socketPath: string;
  /** The pause image CRI-O pulls from the open registry; its `sh` exits on SIGTERM, so pods stop at once. */
  sandboxImage: string;
  registry: { address: string; image: string };
  authRegistry: { address: string; image: string; username: string; password: string };
  /** The instance's temp folder (crio.log, registry logs, storage, …). */
  dir: string;
  logFile: string;
  /** Environment that points containers/image tools (skopeo) at this instance's storage and registries. */
  env: NodeJS.ProcessEnv;
  /** Gives an image already in CRI-O's store another name (skopeo copy within containers-storage). */
  tagImage(source: string, name: string): Promise<void>;
  /** Kills crio, conmon and the containers; unmounts; removes the bridge and the folder. Idempotent. */
  stop(): Promise<void>;
}

export interface CrioBinaries {
  crio: string;
  pinns: string;
}

const PAUSE_PATH = 'critap/pause:1';
/** `wait` returns as soon as the trapped SIGTERM arrives; the sleeper dies with the pid namespace. */
const PAUSE_CMD = ['sh', '-c', 'trap "exit 0" TERM; sleep 2147483647 & wait'];
const RUNC_PATHS = ['/usr/sbin/runc', '/usr/bin/runc'];
const CONMON = '/usr/bin/conmon';
/** Where the runc wrapper logs container ids, for the cgroup cleanup (runtime-cleanup.ts). */
const CONTAINER_ID_LOG = 'container-ids';

/** The runc wrapper CRI-O is given: a launcher in the instance folder fixing which runc, node and rewriter it uses. */
async function writeRuncLauncher(dir: string): Promise<string> {
  const runc = RUNC_PATHS.find((p) => existsSync(p));
  if (!runc) throw new Error('critap: runc not found (run scripts/setup-runtime.sh as root)');
  const wrapper = join(repoRoot(), 'test', 'support', 'runc-wrapper.sh');
  const rewrite = fileURLToPath(new URL('./oci-spec-rewrite.js', import.meta.url));
  const path = join(dir, 'runc-launcher');
  const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
  await writeFile(
    path,
    [
      '#!/bin/sh',
      `CRITAP_RUNC=${q(runc)} CRITAP_NODE=${q(process.execPath)} CRITAP_SPEC_REWRITE=${q(rewrite)} \\`,
      `CRITAP_ID_LOG=${q(join(dir, CONTAINER_ID_LOG))} exec ${q(wrapper)} "$@"`,
      '',
    ].join('\n'),
  );
  await chmod(path, 0o755);
  return path;
}

export async function startCrioRuntime(bins: CrioBinaries): Promise<CrioRuntime> {
  if (!existsSync(CONMON)) throw new Error(`critap: ${CONMON} is missing (run scripts/setup-runtime.sh as root)`);
  // Short: conmon's attach socket paths must fit in 107 bytes (see crio-config.ts).
  const dir = await mkdtemp('/tmp/critap-crio-');
  const slot = acquireCniSlot();
  const state: InstanceState = { dir, bridge: slot.bridge, slotFile: slot.file, crioIdLog: join(dir, CONTAINER_ID_LOG) };
  const guard = guardInstance(state);
  const registries: RunningRegistry[] = [];
  try {
    const tmp = join(dir, 'tmp');
    const socketPath = join(dir, 'crio.sock');
    await Promise.all(['tmp', 'cni', 'cni-ipam', 'crio.conf.d', 'registries.conf.d', 'att', 'ns', 'exits', 'pod-logs'].map((d) => mkdir(join(dir, d))));
    const regs = await startTestRegistries(dir, tmp, [{ tag: PAUSE_PATH, cmd: PAUSE_CMD }], (r) => registries.push(r));
    const sandboxImage = regs.extra[0]!;
    const insecure = [regs.registry.address, regs.authRegistry.address];

    const files = {
      config: join(dir, 'crio.conf'),
      storage: join(dir, 'storage.conf'),
      registries: join(dir, 'registries.conf'),
      policy: join(dir, 'policy.json'),
    };
    const runtimePath = await writeRuncLauncher(dir);
    await Promise.all([
      writeFile(files.config, crioConfig({
        dir, socketPath, pinnsPath: bins.pinns, runtimePath, pauseImage: sandboxImage,
        cniConfDir: join(dir, 'cni'), insecureRegistries: insecure, policyFile: files.policy,
      })),
      writeFile(files.storage, storageConf(dir)),
      writeFile(files.registries, registriesConf(insecure)),
      writeFile(files.policy, ACCEPT_ANYTHING_POLICY),
      writeFile(
        join(dir, 'cni', '10-critap.conflist'),
        cniConflist({ name: `critap-crio-${slot.index}`, bridge: slot.bridge, subnet: slot.subnet, ipamDataDir: join(dir, 'cni-ipam') }),
      ),
    ]);
    const env = { ...process.env, CONTAINERS_STORAGE_CONF: files.storage, CONTAINERS_REGISTRIES_CONF: files.registries, TMPDIR: tmp };
    const logFile = join(dir, 'crio.log');
    const crio = new RuntimeDaemon(
      'crio',
      bins.crio,
      ['--config', files.config, '--config-dir', join(dir, 'crio.conf.d'), '--registries-conf', files.registries,
        // An empty drop-in folder of our own: the machine's (/etc/containers/registries.conf.d) aliases
        // short names such as busybox to docker.io, which CRI-O would then try to reach.
        '--registries-conf-dir', join(dir, 'registries.conf.d'), '--log-level', 'info'],
      logFile,
      socketPath,
      env,
    );
    await crio.start();

    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopped ??= (async () => {
        await crio.stop();
        for (const r of registries) r.process.kill('SIGTERM');
        guard.cleanup(); // watchdog, conmon and its containers, mounts, bridge, folder, slot
      })());

    return {
      kind: 'crio',
      endpoint: `unix://${socketPath}`,
      socketPath,
      sandboxImage,
      registry: regs.registry,
      authRegistry: regs.authRegistry,
      dir,
      logFile,
      env,
      tagImage: (source, name) => skopeoTag(env, source, name),
      stop,
    };
  } catch (err) {
    guard.cleanup(); // also kills crio, the registries, and frees the CNI slot
    throw err;
  }
}

async function skopeoTag(env: NodeJS.ProcessEnv, source: string, name: string): Promise<void> {
  try {
    await run('skopeo', ['--insecure-policy', 'copy', '--quiet', `containers-storage:${source}`, `containers-storage:${name}`], { env, timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`critap: skopeo could not name ${source} ${name} in CRI-O's store: ${e.stderr?.trim() || e.message}`);
  }
}

/**
 * For node:test: a CRI-O instance stopped after the test, or a loud skip (a failure under CI=true)
 * when the crio/pinns binaries or the machine's tools are missing.
 */
export async function crioRuntimeOrSkip(t: TestContext): Promise<CrioRuntime | undefined> {
  const bins = binariesOrSkip(t, 'crio', 'pinns');
  if (!bins) return undefined;
  const reason = await unavailableReason([CONMON]);
  if (reason) {
    if (process.env.CI === 'true') throw new Error(`critap: CRI-O is required in CI but cannot run here: ${reason}`);
    const bar = '!'.repeat(78);
    console.warn(`\n${bar}\n!! SKIPPING CRI-O test "${t.name}": ${reason}\n${bar}\n`);
    t.skip(`no real runtime: ${reason}`);
    return undefined;
  }
  const rt = await startCrioRuntime(bins);
  t.after(() => rt.stop());
  return rt;
}
