/**
 * One kubelet at a time on this machine: kubelet 1.26 hard-codes /var/log/pods,
 * /var/log/containers, /var/lib/kubelet/device-plugins and the kubepods cgroups, so two
 * kubelets (two test files, or a test and make-recordings) would trip over each other's
 * pods. The lock is a file created exclusively, holding the owner's pid; a dead owner's
 * lock is taken over once the dead owner's watchdog has cleaned up after it (the lock names
 * the owner's kubelet folder, which that cleanup removes last). A second caller waits rather
 * than failing.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

import { tryCreate } from './cni-slot.js';

export const KUBELET_LOCK = '/tmp/critap-kubelet.lock';

/** The lock file's lines: the owner's pid, then (once it made it) its kubelet folder. */
function readLock(file: string): { pid?: number; dir?: string } {
  try {
    const [pidLine = '', dir] = readFileSync(file, 'utf8').split('\n');
    const pid = Number(pidLine);
    return { pid: Number.isInteger(pid) && pid > 0 ? pid : undefined, dir: dir || undefined };
  } catch {
    return {};
  }
}

/** The pid in the lock file, or undefined when it vanished or is being written. */
export function lockOwner(file = KUBELET_LOCK): number | undefined {
  return readLock(file).pid;
}

/** A dead owner's cleanup may take this long (kill, unmount, cgroups) before its folder goes. */
const DEAD_OWNER_CLEANUP_MS = 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export interface KubeletLock {
  /** Names the holder's kubelet folder in the lock, so whoever takes over a dead holder's lock waits for its cleanup. */
  noteDir(dir: string): void;
  release(): void;
}

/**
 * Waits (up to `timeoutMs`) until this process holds the lock. Within one process the
 * holders queue as well: the lock stands for "a kubelet runs", not "this process runs one".
 */
export async function acquireKubeletLock(timeoutMs = 15 * 60_000, file = KUBELET_LOCK): Promise<KubeletLock> {
  const until = Date.now() + timeoutMs;
  let told = false;
  let deadSince: number | undefined;
  for (;;) {
    if (tryCreate(file)) {
      // Two waiters taking over one stale lock can race (rm, create, rm, create): the one whose
      // file got removed finds someone else's pid in it a moment later and goes back to waiting.
      await new Promise((r) => setTimeout(r, 50));
      if (lockOwner(file) !== process.pid) continue;
      let held = true;
      return {
        noteDir(dir) {
          if (held && lockOwner(file) === process.pid) writeFileSync(file, `${process.pid}\n${dir}`);
        },
        release() {
          if (!held) return;
          held = false;
          if (lockOwner(file) === process.pid) rmSync(file, { force: true });
        },
      };
    }
    const { pid: owner, dir: ownerDir } = readLock(file);
    if (owner !== undefined && owner !== process.pid && !alive(owner)) {
      // A crashed owner: its watchdog is killing its kubelet and removing what it left; the
      // folder goes last. Taking over earlier would race that cleanup (kubepods cgroups, logs).
      const since = (deadSince ??= Date.now());
      if (ownerDir && existsSync(ownerDir) && Date.now() - since < DEAD_OWNER_CLEANUP_MS) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      if (lockOwner(file) === owner) rmSync(file, { force: true });
      deadSince = undefined;
      continue;
    }
    if (Date.now() > until) {
      throw new Error(`critap: ${file} is held by pid ${owner ?? '?'} (a kubelet test still running?) after waiting ${timeoutMs / 1000} s`);
    }
    if (!told) {
      told = true;
      process.stderr.write(`critap: waiting for ${file} (held by pid ${owner ?? '?'}): only one kubelet runs at a time\n`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
