/**
 * Synchronous teardown of one standalone kubelet (test/support/kubelet.ts), usable where
 * nothing async can run: the 'exit'/signal hooks and the watchdog that outlives a test
 * process killed outright (`node kubelet-cleanup.js <kubelet.json>`).
 *
 * What a kubelet leaves outside its own folder, and so what is undone here: the
 * /var/log/pods/<ns>_<pod>_<uid> folders and /var/log/containers links of its pods, the
 * `kubepods` cgroups (cgroupfs driver), /var/lib/kubelet (device-plugins is hard-coded
 * there), the kernel tunables it sets at start, and the lock. Pods on the runtime are the
 * async stop()'s job (CRI calls); here they are left to the runtime harness, whose own
 * cleanup kills every container of its instance.
 */
import { readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { instancePids, killAll, unmountUnder } from './runtime-cleanup.js';

export interface KubeletState {
  /** The kubelet's temp folder; its command line names it, which is how its process is found. */
  dir: string;
  /** Static pods' full names (`<pod>-<node>`) it was given. */
  pods: string[];
  /** Machine-wide folders that did not exist before this kubelet made them. */
  createdDirs: string[];
  /** /proc/sys files and their values before the kubelet started (it "tunes" them). */
  sysctls: Record<string, string>;
  lockFile: string;
  ownerPid: number;
}

export const POD_LOG_DIR = '/var/log/pods';
export const CONTAINER_LOG_LINKS = '/var/log/containers';
export const CGROUP_ROOT = '/sys/fs/cgroup';
/** The tunables kubelet 1.26 sets when --protect-kernel-defaults is off. */
export const KUBELET_SYSCTLS = ['/proc/sys/vm/overcommit_memory', '/proc/sys/kernel/panic', '/proc/sys/kernel/panic_on_oops'];

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Pids of every live kubelet process on the machine (by command name), ours included. */
export function kubeletPids(): number[] {
  const out: number[] = [];
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // A killed kubelet not yet reaped by its parent is a zombie: it runs nothing.
      if (stat.includes(' (kubelet) ') && !stat.includes(') Z ')) out.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** `/var/log/pods/<ns>_<pod>_<uid>` folders of the given pod full names. */
export function podLogDirs(pods: string[]): string[] {
  return safeReaddir(POD_LOG_DIR)
    .filter((entry) => pods.some((p) => entry.split('_')[1] === p))
    .map((entry) => join(POD_LOG_DIR, entry));
}

/** `/var/log/containers/<pod>_<ns>_<container>-<id>.log` links of those pods, and dangling ones into /var/log/pods. */
export function containerLogLinks(pods: string[]): string[] {
  return safeReaddir(CONTAINER_LOG_LINKS)
    .filter((entry) => {
      if (pods.some((p) => entry.startsWith(`${p}_`))) return true;
      const path = join(CONTAINER_LOG_LINKS, entry);
      try {
        return readlinkSync(path).startsWith(`${POD_LOG_DIR}/`) && !existsSync(path);
      } catch {
        return false;
      }
    })
    .map((entry) => join(CONTAINER_LOG_LINKS, entry));
}

/** Every `kubepods` cgroup folder in every hierarchy, deepest first. */
export function kubepodsCgroups(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of safeReaddir(dir)) {
      const p = join(dir, entry);
      try {
        if (statSync(p).isDirectory()) {
          walk(p);
          found.push(p);
        }
      } catch {
        // vanished
      }
    }
  };
  for (const hierarchy of safeReaddir(CGROUP_ROOT)) {
    const top = join(CGROUP_ROOT, hierarchy, 'kubepods');
    if (existsSync(top)) {
      walk(top);
      found.push(top);
    }
  }
  return found.sort((a, b) => b.length - a.length);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** rmdir of cgroups deepest first; a cgroup whose last task is still dying answers EBUSY for a moment. */
export function removeKubepodsCgroups(ms = 3000): string[] {
  const until = Date.now() + ms;
  for (;;) {
    const left: string[] = [];
    for (const cg of kubepodsCgroups()) {
      try {
        rmdirSync(cg);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(cg);
      }
    }
    if (left.length === 0 || Date.now() > until) return left;
    sleepSync(100);
  }
}

export function readSysctls(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of KUBELET_SYSCTLS) {
    try {
      out[f] = readFileSync(f, 'utf8').trim();
    } catch {
      // not on this kernel
    }
  }
  return out;
}

function restoreSysctls(saved: Record<string, string>): void {
  for (const [f, value] of Object.entries(saved)) {
    try {
      if (readFileSync(f, 'utf8').trim() !== value) writeFileSync(f, value);
    } catch {
      // read-only here: the kubelet could not have changed it either
    }
  }
}

/** Everything but the CRI part of stop(): kill, unmount, machine-wide leftovers, folder, lock. */
export function cleanupKubeletSync(state: KubeletState): void {
  for (let round = 0; round < 2; round++) {
    const pids = instancePids(`${state.dir}/`);
    if (pids.length === 0) break;
    killAll(pids, 'SIGKILL');
    sleepSync(200);
  }
  unmountUnder(state.dir);
  for (const p of [...podLogDirs(state.pods), ...containerLogLinks(state.pods)]) rmSync(p, { recursive: true, force: true });
  const othersRun = kubeletPids().length > 0;
  if (!othersRun) {
    removeKubepodsCgroups();
    restoreSysctls(state.sysctls);
  }
  // Deepest first, and only when empty: something else may have put files there since.
  for (const d of [...state.createdDirs].sort((a, b) => b.length - a.length)) {
    if (d === '/var/lib/kubelet') {
      if (!othersRun) {
        unmountUnder(d);
        rmSync(d, { recursive: true, force: true });
      }
      continue;
    }
    try {
      rmdirSync(d);
    } catch {
      // not empty or already gone
    }
  }
  rmSync(state.dir, { recursive: true, force: true, maxRetries: 3 });
  try {
    if (Number(readFileSync(state.lockFile, 'utf8').split('\n')[0]) === state.ownerPid) rmSync(state.lockFile, { force: true });
  } catch {
    // no lock file
  }
}

// Watchdog entry point: `node kubelet-cleanup.js <kubelet.json>`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('critap: usage: kubelet-cleanup.js <kubelet.json>\n');
    process.exit(2);
  }
  let state: KubeletState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as KubeletState;
  } catch {
    process.exit(0); // the folder is gone: the kubelet was stopped cleanly
  }
  cleanupKubeletSync(state);
}
