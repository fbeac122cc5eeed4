/**
 * CPU time of a process's threads, read from /proc/<pid>/task/<tid>/stat (utime + stime). On a
 * shared machine this is steadier than wall-clock ratios: it counts what a process spent, not
 * what it waited for. Linux only; elsewhere the reads return an empty map.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { clockTicksPerSecond, parseStat as parseStatTimes } from './cpu.js';

export interface ThreadCpu {
  tid: number;
  /** The thread's name (comm): "node" for the main thread, "libuv-worker", "V8 DefaultWorke"… */
  name: string;
  /** User + system CPU, in microseconds. */
  cpuUs: number;
}

/** The thread's name and its utime + stime (cpu.ts reads the fields; the name is in parentheses and may hold spaces). */
export function parseStat(line: string): { name: string; cpuUs: number } {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`critap: bench: not a /proc stat line: ${line.slice(0, 60)}`);
  return { name: line.slice(open + 1, close), cpuUs: (parseStatTimes(line).own * 1e6) / clockTicksPerSecond() };
}

export function threadCpu(pid: number): Map<number, ThreadCpu> {
  const out = new Map<number, ThreadCpu>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      const { name, cpuUs } = parseStat(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'));
      out.set(Number(t), { tid: Number(t), name, cpuUs });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/**
 * CPU spent by each thread between two snapshots, by tid. Threads born after `before` count from
 * zero; threads that died are lost (their time is gone from /proc), which is why callers
 * snapshot while the process still runs. Node 20 names all its threads "node", so threads are
 * told apart by tid: the main thread's tid is the pid.
 */
export function cpuBetween(before: Map<number, ThreadCpu>, after: Map<number, ThreadCpu>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [tid, a] of after) out.set(tid, a.cpuUs - (before.get(tid)?.cpuUs ?? 0));
  return out;
}

/** The main thread, the busiest other thread, and the rest (V8's helpers, libuv, LevelDB). */
export function splitThreads(pid: number, spent: Map<number, number>): { main: number; busiestOther: number; rest: number; total: number; others: number[] } {
  let total = 0;
  let busiestOther = 0;
  for (const [tid, us] of spent) {
    total += us;
    if (tid !== pid) busiestOther = Math.max(busiestOther, us);
  }
  const main = spent.get(pid) ?? 0;
  const others = [...spent].filter(([tid, us]) => tid !== pid && us > 0).map(([, us]) => us).sort((x, y) => y - x);
  return { main, busiestOther, rest: total - main - busiestOther, total, others };
}
