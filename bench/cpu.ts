/**
 * CPU time of the benchmark's processes and threads, read from /proc (Linux). On a shared
 * 2-core machine wall-clock ratios move with whatever else runs; the CPU a process spent on a
 * round's calls moves much less, so it is reported beside them.
 *
 * /proc counts in clock ticks (CLK_TCK, usually 100 a second: 10 ms), so a reading only means
 * something over a whole round: sample just before the clients start, just after the last
 * answer, and divide the difference by the calls made.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** CLK_TCK from `getconf CLK_TCK` (asked once); 100 when getconf cannot answer. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 });
    const n = Number(r.stdout?.trim());
    ticksPerSecond = r.status === 0 && Number.isInteger(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

export interface StatTimes {
  /** utime + stime: this process (all its threads, live and exited) or this one thread. */
  own: number;
  /** cutime + cstime: children that exited and were waited for. */
  children: number;
}

/**
 * utime+stime and cutime+cstime, in ticks, from the text of a /proc/…/stat file.
 * The command name in parentheses may contain spaces and ')': the fixed fields follow the last ')'.
 */
export function parseStat(text: string): StatTimes {
  const fields = text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
  // After ')': state is field 3 of proc(5), so utime (14) is index 11, stime 12, cutime 13, cstime 14.
  const n = (i: number) => {
    const v = Number(fields[i]);
    if (!Number.isFinite(v)) throw new Error(`critap: bench: unreadable /proc stat line (field ${i + 3}): ${text.slice(0, 80)}`);
    return v;
  };
  return { own: n(11) + n(12), children: n(13) + n(14) };
}

function readStat(path: string): StatTimes | undefined {
  try {
    return parseStat(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** CPU seconds a whole process has used (all threads, live and exited); 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  const s = readStat(`/proc/${pid}/stat`);
  return s ? s.own / clockTicksPerSecond() : 0;
}

/** CPU seconds one thread of a process has used; 0 once it is gone. */
export function threadCpuSeconds(pid: number, tid: number): number {
  const s = readStat(`/proc/${pid}/task/${tid}/stat`);
  return s ? s.own / clockTicksPerSecond() : 0;
}

function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (list) out.push(...list.split(' ').map(Number));
    }
  } catch {
    // gone while we looked
  }
  return out;
}

/**
 * CPU seconds of a process and all its descendants: its own time, the time of children it has
 * already waited for, and the live children's trees. Used for socat, which forks one process
 * per connection (and waits for each when it ends, so a child exiting mid-round moves its time
 * into the parent's cutime instead of losing it).
 */
export function treeCpuSeconds(pid: number): number {
  return treeTicks(pid) / clockTicksPerSecond();
}

function treeTicks(pid: number): number {
  const s = readStat(`/proc/${pid}/stat`);
  if (!s) return 0;
  let ticks = s.own + s.children;
  for (const child of childPids(pid)) ticks += treeTicks(child);
  return ticks;
}

/** Named cumulative CPU readings (seconds); a round's cost is the difference of two. */
export type CpuReading = Record<string, number>;

/** Per-call µs from two readings taken around a round; parts missing in either are left out. */
export function perCallUs(before: CpuReading, after: CpuReading, calls: number): Record<string, number> {
  const out: Record<string, number> = {};
  if (calls <= 0) return out;
  for (const [part, end] of Object.entries(after)) {
    const start = before[part];
    if (start === undefined) continue;
    out[part] = ((end - start) * 1e6) / calls;
  }
  return out;
}

/** How often settleCpu looks, and the most it waits. */
const SETTLE_POLL_MS = 50;
const SETTLE_MAX_MS = 3000;

/**
 * Waits until a process stops spending CPU (at most one clock tick in a poll interval, i.e. it
 * is idle or nearly so), then returns its last reading and how long that took. Work a round's
 * calls left behind still counts: a recorder's last batch, spans waiting for export, a
 * collection — read at the last answer, a proxy that defers work would look cheaper than it is.
 */
export async function settleCpu(read: () => CpuReading, part: string): Promise<{ reading: CpuReading; waitedMs: number }> {
  const tick = 1 / clockTicksPerSecond();
  const started = Date.now();
  let last = read();
  for (;;) {
    await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    const now = read();
    const grew = (now[part] ?? 0) - (last[part] ?? 0);
    last = now;
    const waitedMs = Date.now() - started;
    if (grew <= tick * 1.5 || waitedMs >= SETTLE_MAX_MS) return { reading: now, waitedMs };
  }
}

/** The containerd whose command line names its instance folder (bench/real-runtime.ts). */
export function findContainerdPid(instanceDir: string): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (/(^|\/)containerd$/.test(argv[0] ?? '') && argv.some((a) => a.startsWith(`${instanceDir}/`))) return Number(name);
    } catch {
      // exited while we looked
    }
  }
  return undefined;
}
