/**
 * The config rewriting of the runc wrapper CRI-O runs here (see runc-wrapper.sh). root on these
 * machines lacks CAP_SYS_RESOURCE, and CRI-O (unlike containerd's restrict_oom_score_adj) asks
 * for oom_score_adj -998 on every infra container and every capability it knows for privileged
 * ones: runc then fails the pod. Before `runc create`/`run` this raises the spec's oomScoreAdj to
 * the wrapper's own floor and drops capabilities outside its bounding set; before `runc exec
 * --process <file>` it drops them from that process file. Nothing else in the files changes.
 *
 * Run as a script with runc's own arguments: `node oci-spec-rewrite.js <runc args…>`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Linux capability numbers (include/uapi/linux/capability.h), by the names OCI specs use. */
const CAP_NUMBERS: Record<string, number> = Object.fromEntries(
  [
    'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
    'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
    'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
    'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
    'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
    'CHECKPOINT_RESTORE',
  ].map((name, i) => [`CAP_${name}`, i]),
);

export interface Limits {
  /** The lowest oom_score_adj this process may set: its own. */
  oomFloor: number;
  /** Capability numbers in this process's bounding set. */
  bounding: Set<number>;
}

/** This process's limits, from /proc/self. */
export function ownLimits(): Limits {
  const oomFloor = Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim());
  const status = readFileSync('/proc/self/status', 'utf8');
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  const mask = BigInt(`0x${hex}`);
  const bounding = new Set<number>();
  for (let i = 0; i < 64; i++) if ((mask >> BigInt(i)) & 1n) bounding.add(i);
  return { oomFloor, bounding };
}

type CapSets = Partial<Record<'bounding' | 'effective' | 'inheritable' | 'permitted' | 'ambient', string[]>>;
interface ProcessSpec {
  oomScoreAdj?: number;
  capabilities?: CapSets;
  [k: string]: unknown;
}

/** Keeps only capabilities runc could grant; a name this table does not know is dropped too. */
function filterCaps(caps: CapSets | undefined, limits: Limits): boolean {
  if (!caps) return false;
  let changed = false;
  for (const [set, names] of Object.entries(caps) as [keyof CapSets, string[] | undefined][]) {
    if (!Array.isArray(names)) continue;
    const kept = names.filter((n) => limits.bounding.has(CAP_NUMBERS[n] ?? -1));
    if (kept.length !== names.length) {
      caps[set] = kept;
      changed = true;
    }
  }
  return changed;
}

/** A process spec (config.json's `process`, or an exec process file) made runnable here. */
export function fitProcess(proc: ProcessSpec, limits: Limits, withOom: boolean): boolean {
  let changed = filterCaps(proc.capabilities, limits);
  if (withOom && typeof proc.oomScoreAdj === 'number' && proc.oomScoreAdj < limits.oomFloor) {
    proc.oomScoreAdj = limits.oomFloor;
    changed = true;
  }
  return changed;
}

/** Which file a runc invocation reads a process from, if any: the bundle's config.json or --process. */
export function specFileOf(args: string[], cwd: string): { file: string; kind: 'bundle' | 'process' } | undefined {
  // runc's global flags that take a value; the command is the first word that is not a flag or a value.
  const globalsWithValue = new Set(['--root', '--log', '--log-format', '--criu', '--rootless']);
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) {
    i += globalsWithValue.has(args[i]!) ? 2 : 1;
  }
  const command = args[i];
  const rest = args.slice(i + 1);
  const flag = (long: string, short: string): string | undefined => {
    for (let j = 0; j < rest.length; j++) {
      const a = rest[j]!;
      if (a === long || a === short) return rest[j + 1];
      if (a.startsWith(`${long}=`)) return a.slice(long.length + 1);
    }
    return undefined;
  };
  if (command === 'create' || command === 'run') {
    return { file: join(flag('--bundle', '-b') ?? cwd, 'config.json'), kind: 'bundle' };
  }
  if (command === 'exec') {
    const p = flag('--process', '-p');
    return p ? { file: p, kind: 'process' } : undefined;
  }
  return undefined;
}

/** Rewrites the file a runc invocation would read, in place, when it asks for more than runc may do. */
export function rewriteForRunc(args: string[], cwd: string, limits: Limits): string | undefined {
  const target = specFileOf(args, cwd);
  if (!target) return undefined;
  const doc = JSON.parse(readFileSync(target.file, 'utf8')) as { process?: ProcessSpec } & ProcessSpec;
  const proc = target.kind === 'bundle' ? doc.process : doc;
  if (!proc || !fitProcess(proc, limits, target.kind === 'bundle')) return undefined;
  writeFileSync(target.file, JSON.stringify(doc));
  return target.file;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    rewriteForRunc(process.argv.slice(2), process.cwd(), ownLimits());
  } catch (err) {
    // runc itself will report a missing or broken file better than we can; say why we did not help.
    process.stderr.write(`critap runc wrapper: config not rewritten: ${(err as Error).message}\n`);
  }
}
