import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuBetween, parseStat, splitThreads, threadCpu } from '../../bench/thread-cpu.js';

test('a /proc stat line gives the thread name and utime + stime in µs, even with spaces and parens in the name', () => {
  // Fields 14 and 15 (utime 250, stime 50 ticks) of a real line's layout.
  const line = '4242 (V8 Default) Worker)) S 1 4242 4242 0 -1 4194304 121 0 0 0 250 50 0 0 20 0 1 0 225078 3133440 360';
  assert.deepEqual(parseStat(line), { name: 'V8 Default) Worker)', cpuUs: 3_000_000 });
  assert.throws(() => parseStat('not a stat line'), /not a \/proc stat line/);
  assert.throws(() => parseStat('1 (x) S 1 2'), /unreadable \/proc stat line/);
});

test('CPU between snapshots: per tid, new threads from zero, main thread apart from the busiest other', () => {
  const snap = (entries: [number, number][]) => new Map(entries.map(([tid, cpuUs]) => [tid, { tid, name: 'node', cpuUs }]));
  const spent = cpuBetween(snap([[10, 1000], [11, 500], [12, 0]]), snap([[10, 4000], [11, 2500], [12, 300], [13, 700]]));
  assert.deepEqual([...spent], [[10, 3000], [11, 2000], [12, 300], [13, 700]]);
  assert.deepEqual(splitThreads(10, spent), { main: 3000, busiestOther: 2000, rest: 1000, total: 6000, others: [2000, 700, 300] });
});

test('this process can be read: its main thread is among its threads and has spent some CPU', () => {
  if (process.platform !== 'linux') return;
  const threads = threadCpu(process.pid);
  assert.ok(threads.has(process.pid));
  assert.ok(threads.get(process.pid)!.cpuUs > 0);
  assert.equal(threadCpu(2 ** 30).size, 0, 'a process that does not exist has no threads');
});
