/**
 * Synchronous teardown of one private containerd instance, usable where nothing
 * async can run: a process 'exit' handler, a signal handler, and the watchdog that
 * outlives a test process killed with SIGKILL (run this file as a script:
 * `node runtime-cleanup.js <instance.json>`).
 *
 * Everything an instance starts mentions its folder on the command line (containerd's
 * --config, each shim's -address, the registries' config files), so "our processes"
 * are those, plus their descendants: the containers a shim started.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface InstanceState {
  dir: string;
  bridge?: string;
  slotFile?: string;
  /** CRI-O instances: the runc wrapper's log of container ids, whose cgroups are removed. */
  crioIdLog?: string;
}

interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
}

function listProcs(): Proc[] {
  const procs: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name in parentheses may contain spaces; fields after ')' are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      procs.push({ pid: Number(name), ppid, cmdline });
    } catch {
      // exited while we looked
    }
  }
  return procs;
}

/** Pids whose command line mentions `marker`, with all their descendants; never this process. */
export function instancePids(marker: string): number[] {
  const procs = listProcs();
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const found = new Set<number>();
  const visit = (pid: number): void => {
    if (found.has(pid)) return;
    found.add(pid);
    for (const c of children.get(pid) ?? []) visit(c);
  };
  for (const p of procs) if (p.cmdline.includes(marker)) visit(p.pid);
  found.delete(process.pid);
  return [...found];
}

export function killAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Mount points at or under `dir`, deepest first, as this mount namespace sees them. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    const point = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (point === dir || point.startsWith(`${dir}/`)) out.push(point);
  }
  return out.sort((a, b) => b.length - a.length);
}

export function unmountUnder(dir: string): void {
  for (const point of mountsUnder(dir)) {
    try {
      // Lazy: a mount still busy for a moment (a dying shim) is detached anyway.
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    } catch {
      // already unmounted by a parent's lazy unmount
    }
  }
}

/** Kills what is left, unmounts, deletes the bridge and the folder, frees the CNI slot. */
export function cleanupInstanceSync(state: InstanceState): void {
  // Twice: a shim dying can briefly leave a container process that was just forked.
  for (let round = 0; round < 2; round++) {
    const pids = instancePids(`${state.dir}/`);
    if (pids.length === 0) break;
    killAll(pids, 'SIGKILL');
    waitGoneSync(pids, 3000);
  }
  removePodNetnsSync(state.dir);
  unmountUnder(state.dir);
  if (state.crioIdLog) removeCrioCgroupsSync(state.crioIdLog);
  if (state.bridge) {
    try {
      execFileSync('ip', ['link', 'delete', state.bridge], { stdio: 'ignore' });
    } catch {
      // no pod ever used the network, so the bridge was never created
    }
  }
  rmSync(state.dir, { recursive: true, force: true, maxRetries: 3 });
  if (state.slotFile) rmSync(state.slotFile, { force: true });
}

/**
 * Pods that were never removed leave their network namespace pinned as a bind mount
 * under /run/netns (outside our folder). The sandbox's OCI spec, still in our task
 * state folder, names it; unpinning it also destroys the pod's veth pair.
 */
export function podNetnsPaths(dir: string): string[] {
  const tasks = join(dir, 'state', 'io.containerd.runtime.v2.task');
  const found: string[] = [];
  for (const ns of safeReaddir(tasks)) {
    for (const id of safeReaddir(join(tasks, ns))) {
      try {
        const spec = JSON.parse(readFileSync(join(tasks, ns, id, 'config.json'), 'utf8')) as {
          linux?: { namespaces?: { type: string; path?: string }[] };
        };
        for (const n of spec.linux?.namespaces ?? []) {
          if (n.type === 'network' && n.path && /^\/(var\/)?run\/netns\/cni-[0-9a-f-]+$/.test(n.path)) found.push(n.path);
        }
      } catch {
        // no spec (bundle already deleted) or not JSON: nothing pinned by it
      }
    }
  }
  return [...new Set(found)];
}

function removePodNetnsSync(dir: string): void {
  for (const path of podNetnsPaths(dir)) {
    try {
      execFileSync('umount', ['-l', path], { stdio: 'ignore' });
    } catch {
      // not mounted any more
    }
    rmSync(path, { force: true });
  }
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * CRI-O (cgroupfs manager) puts a container in `crio-<id>` and its conmon in `crio-conmon-<id>`,
 * at the top of each hierarchy or under `crio/`, outside our folder; after a failed create it does
 * not remove them. Only cgroups named after our own containers' ids are touched, and rmdir
 * removes only empty ones; `crio/` itself goes when no other CRI-O uses it.
 */
export function removeCrioCgroupsSync(idLog: string): void {
  let ids: string[];
  try {
    ids = readFileSync(idLog, 'utf8').split('\n').filter((id) => /^[0-9a-f]{64}$/.test(id));
  } catch {
    return; // no container was ever created
  }
  // A process just killed leaves its cgroup busy for a moment after it is gone from /proc.
  const until = Date.now() + 3000;
  const ours = new Set(ids.flatMap((id) => [`crio-${id}`, `crio-conmon-${id}`]));
  for (const hierarchy of safeReaddir(CGROUP_ROOT)) {
    const top = join(CGROUP_ROOT, hierarchy);
    // A container's cgroup can sit inside its conmon's (crio-conmon-<id>/crio-<id>): deepest first.
    for (const path of ourCgroups(top, ours, 3).sort((a, b) => b.length - a.length)) rmdirCgroup(path, until);
    rmdirCgroup(join(top, 'crio'), 0); // shared by every CRI-O on the machine: only if empty right now
  }
}

/** Cgroup folders named after our containers, at most `depth` levels below `dir`. */
function ourCgroups(dir: string, ours: Set<string>, depth: number): string[] {
  if (depth === 0) return [];
  const found: string[] = [];
  for (const name of safeReaddir(dir)) {
    if (name !== 'crio' && !ours.has(name)) continue;
    const path = join(dir, name);
    if (ours.has(name)) found.push(path);
    found.push(...ourCgroups(path, ours, depth - 1));
  }
  return found;
}

function rmdirCgroup(path: string, until: number): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      rmdirSync(path);
      return;
    } catch (err) {
      // ENOENT: absent. EBUSY past the deadline, or ENOTEMPTY (child cgroups): still in use, not ours to force.
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() >= until) return;
    }
    Atomics.wait(sleeper, 0, 0, 20);
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function waitGoneSync(pids: number[], ms: number): void {
  const until = Date.now() + ms;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < until) {
    const alive = pids.filter((pid) => {
      try {
        // A zombie still answers kill(0); count it as gone.
        return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
      } catch {
        return false;
      }
    });
    if (alive.length === 0) return;
    Atomics.wait(sleeper, 0, 0, 20);
  }
}

// Watchdog entry point: `node runtime-cleanup.js <instance.json>`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('critap: usage: runtime-cleanup.js <instance.json>\n');
    process.exit(2);
  }
  let state: InstanceState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as InstanceState;
  } catch {
    process.exit(0); // the instance folder is gone: it was stopped cleanly
  }
  cleanupInstanceSync(state);
}
