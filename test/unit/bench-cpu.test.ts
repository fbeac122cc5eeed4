import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { clockTicksPerSecond, parseStat, perCallUs, processCpuSeconds, settleCpu, threadCpuSeconds, treeCpuSeconds } from '../../bench/cpu.js';
import { unixListening } from '../../bench/floor.js';
import { renderTable, summarize, summarizeCpu, type ScenarioRun } from '../../bench/report.js';
import { judgeTargets } from '../../bench/targets.js';

test('parseStat reads utime+stime and cutime+cstime after the last ")" of the command name', () => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
  const line = '4242 (we(ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 9 0 1234 0 0';
  assert.deepEqual(parseStat(line), { own: 300, children: 10 });
  assert.throws(() => parseStat('4242 (short) S 1 2'), /unreadable \/proc stat line/);
});

test('settleCpu reads the proxy again once it has stopped spending CPU, with what it spent meanwhile', async () => {
  const tick = 1 / clockTicksPerSecond();
  // A proxy still busy for three polls (5 ticks each), then idle: its last busy work counts.
  const busy = [0, 5, 10, 15, 15, 15];
  let polls = 0;
  const read = () => ({ proxy: busy[Math.min(polls++, busy.length - 1)]! * tick, critapMain: polls });
  const { reading, waitedMs } = await settleCpu(read, 'proxy');
  assert.equal(reading.proxy, 15 * tick);
  assert.equal(polls, 5, 'stops at the first poll without growth');
  assert.ok(waitedMs >= 150, `waited ${waitedMs} ms`);
});

test('perCallUs divides each part by the calls and leaves out parts not read before', () => {
  assert.deepEqual(perCallUs({ proxy: 1, runtime: 2 }, { proxy: 1.5, runtime: 2.25, client: 9 }, 1000), { proxy: 500, runtime: 250 });
  assert.deepEqual(perCallUs({ proxy: 1 }, { proxy: 2 }, 0), {});
});

test('CPU of a process tree includes a spinning grandchild; the main thread is within the process; a gone process reads 0', async () => {
  // The child starts a grandchild that spins until killed (60 s at most, should this test die) and
  // prints its pid: no timing to guess.
  const child = spawn(process.execPath, ['-e', `
    const g = require('child_process').spawn(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 60000);'], { stdio: 'ignore' });
    console.log(g.pid);
    process.on('SIGTERM', () => { g.kill('SIGKILL'); process.exit(0); });
    setInterval(() => {}, 1000);`]);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const grandchild = await new Promise<number>((resolve) => child.stdout!.once('data', (b: Buffer) => resolve(Number(String(b).trim()))));
  try {
    const until = Date.now() + 20_000;
    while (processCpuSeconds(grandchild) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    // The parts first, the tree last: they keep running, so the tree can only be ahead of them.
    const spun = processCpuSeconds(grandchild);
    const own = processCpuSeconds(child.pid!);
    const tree = treeCpuSeconds(child.pid!);
    assert.ok(spun > 0, 'the grandchild used CPU within 20 s');
    assert.ok(tree >= own + spun - 1e-9, `tree ${tree} s, child ${own} s, grandchild ${spun} s`);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  assert.equal(processCpuSeconds(child.pid!), 0);
  assert.equal(treeCpuSeconds(child.pid!), 0);
  // The thread first: this process keeps running between the two reads.
  const mainThread = threadCpuSeconds(process.pid, process.pid);
  const self = processCpuSeconds(process.pid);
  // Within a clock tick (10 ms): the kernel splits each task's run time into utime and stime by
  // its own sampled ratio (cputime_adjust), the thread's and the whole process's apart, so their
  // tick counts can disagree by one (seen: main thread 0.1 s, process 0.09 s).
  assert.ok(self > 0 && mainThread <= self + 0.01 + 1e-9, `main thread ${mainThread} s, process ${self} s`);
});

test('unixListening finds a listening socket by path in /proc/net/unix', () => {
  const table = [
    'Num       RefCount Protocol Flags    Type St Inode Path',
    '00000000acecd956: 00000002 00000000 00010000 0001 01 81504 /tmp/x/listening.sock',
    '000000003206ab25: 00000003 00000000 00000000 0001 03 83243 /tmp/x/connected.sock',
  ].join('\n');
  assert.equal(unixListening('/tmp/x/listening.sock', table), true);
  assert.equal(unixListening('/tmp/x/connected.sock', table), false);
  assert.equal(unixListening('/tmp/x/absent.sock', table), false);
});

function versionRun(id: string, rounds: Record<string, Array<{ p50Us?: number; callsPerSec?: number; cpu?: Record<string, number> }>>): ScenarioRun {
  const metric = id.endsWith('latency') ? { id: 'p50Us', label: 'p50 latency', unit: 'µs', better: 'lower' as const } : { id: 'callsPerSec', label: 'calls/s', unit: 'calls/s', better: 'higher' as const };
  return {
    id,
    title: id,
    upstream: id.startsWith('containerd') ? 'containerd' : 'fake',
    metrics: [metric],
    variants: Object.keys(rounds) as ScenarioRun['variants'],
    missing: {},
    rounds: Object.fromEntries(
      Object.entries(rounds).map(([v, list]) => [v, list.map((f, i) => ({ round: i + 1, figures: { p50Us: f.p50Us, callsPerSec: f.callsPerSec }, cpuUsPerCall: f.cpu }))]),
    ),
  };
}

test('ratios to the floor pair rounds like ratios to direct; CPU parts take medians over rounds', () => {
  const run = versionRun('fake-version-latency', {
    direct: [{ p50Us: 100 }, { p50Us: 100 }, { p50Us: 100 }],
    floor: [{ p50Us: 110 }, { p50Us: 100 }, { p50Us: 120 }],
    bare: [{ p50Us: 121, cpu: { proxy: 30, critapMain: 25 } }, { p50Us: 105, cpu: { proxy: 40, critapMain: 30 } }, { p50Us: 132, cpu: { proxy: 20, critapMain: 15 } }],
  });
  const s = summarize(run, 'bare', 'p50Us');
  assert.deepEqual(s.ratiosToFloor.map((r) => r.toFixed(2)), ['1.10', '1.05', '1.10']);
  assert.equal(s.medianRatioToFloor.toFixed(2), '1.10');
  assert.deepEqual(summarizeCpu(run, 'bare'), { proxy: 30, critapMain: 25 });
  run.missing.floor = 'socat is not installed';
  assert.ok(Number.isNaN(summarize(run, 'bare', 'p50Us').medianRatioToFloor));
});

test('the floor and CPU targets judge bare against socat and rec+tracing CPU against containerd direct', () => {
  const latency = versionRun('containerd-version-latency', {
    direct: [{ p50Us: 100, cpu: { runtime: 50 } }],
    floor: [{ p50Us: 105 }],
    bare: [{ p50Us: 120 }],
    'record-trace': [{ p50Us: 130, cpu: { proxy: 45, runtime: 50 } }],
  });
  const throughput = versionRun('containerd-version-throughput', {
    direct: [{ callsPerSec: 1000, cpu: { runtime: 40 } }],
    floor: [{ callsPerSec: 1000 }],
    bare: [{ callsPerSec: 960 }],
    'record-trace': [{ callsPerSec: 900, cpu: { proxy: 60, runtime: 40 } }],
  });
  const targets = judgeTargets([latency, throughput], undefined, false, undefined, { rounds: [{ rssMB: 90, peakMB: 95, calls: 200, idleMs: 5000 }] });
  const status = (prefix: string) => targets.find((t) => t.name.startsWith(prefix))?.status;
  assert.equal(status('bare p50 latency vs socat, 1 in flight (containerd)'), 'not met'); // 1.14× floor
  assert.equal(status('bare calls/s vs socat, 64 in flight (containerd)'), 'met'); // 0.96× floor
  assert.equal(status('rec+tracing CPU per call vs containerd, 1 in flight'), 'met'); // 45 ≤ 50 µs
  assert.equal(status('rec+tracing CPU per call vs containerd, 64 in flight'), 'not met'); // 60 > 40 µs
  assert.equal(status('bare p50 latency vs socat, 1 in flight (fake)'), 'not measured');
  assert.equal(status('critap idle RSS'), 'not met'); // 90 MB > 80 MB
});

test('targets say how far apart the rounds were: the lowest and highest round ratio beside the median', () => {
  const throughput = versionRun('containerd-version-throughput', {
    direct: [{ callsPerSec: 1000, cpu: { runtime: 40 } }, { callsPerSec: 1000, cpu: { runtime: 20 } }, { callsPerSec: 1000, cpu: { runtime: 30 } }],
    floor: [{ callsPerSec: 1000 }, { callsPerSec: 1000 }, { callsPerSec: 1000 }],
    bare: [{ callsPerSec: 900 }, { callsPerSec: 1000 }, { callsPerSec: 800 }],
    'record-trace': [{ callsPerSec: 500, cpu: { proxy: 20 } }, { callsPerSec: 400, cpu: { proxy: 30 } }, { callsPerSec: 450, cpu: { proxy: 30 } }],
  });
  const targets = judgeTargets([throughput], undefined, false);
  const measured = (prefix: string) => targets.find((t) => t.name.startsWith(prefix))?.measured;
  assert.equal(measured('bare calls/s vs socat, 64 in flight (containerd)'), '0.90× floor (rounds 0.80–1.00)');
  assert.equal(measured('rec+tracing calls/s, 64 in flight (containerd)'), '0.45× direct (rounds 0.40–0.50)');
  // critap's CPU in each round against containerd's in the same round: 20/40, 30/20, 30/30.
  assert.equal(measured('rec+tracing CPU per call vs containerd, 64 in flight'), 'critap 30.0 µs vs containerd 30.0 µs per call (1.00×; rounds 0.50–1.50×)');
});

test('the table gives a × floor row per metric the floor has, and CPU rows by part and critap thread', () => {
  const run = versionRun('fake-version-throughput', {
    direct: [{ callsPerSec: 1000, cpu: { runtime: 40, client: 120 } }],
    floor: [{ callsPerSec: 1000, cpu: { proxy: 5, runtime: 40, client: 120 } }],
    bare: [{ callsPerSec: 950, cpu: { proxy: 30, critapMain: 25, critapOther: 5, runtime: 41, client: 119 } }],
    'record-trace': [{ callsPerSec: 800, cpu: { proxy: 90, critapMain: 40, critapObserver: 35, critapOther: 15, runtime: 39, client: 118 } }],
  });
  const lines = renderTable([run], undefined, ['direct', 'floor', 'bare', 'record-trace']).split('\n');
  const cells = (prefix: string) => lines.find((l) => l.trimStart().startsWith(prefix))?.slice(58).trim().split(/\s{2,}/);
  assert.deepEqual(cells('calls/s'), ['1000', '1000 1.00×', '950 0.95×', '800 0.80×']);
  assert.deepEqual(cells('× floor'), ['0.95×', '0.80×']);
  assert.deepEqual(cells('CPU µs/call: in between'), ['5.0', '30.0', '90.0']);
  assert.deepEqual(cells('critap main / observer / other'), ['25.0/—/5.0', '40.0/35.0/15.0']);
  assert.deepEqual(cells('CPU µs/call: runtime'), ['40.0', '40.0', '41.0', '39.0']);
  assert.equal(cells('CPU µs/call: in between, warm-up'), undefined, 'no warm-up row when no round read the warm-up');
  run.rounds.bare![0]!.cpuUsPerCall!.proxyWarmup = 45;
  run.rounds['record-trace']![0]!.cpuUsPerCall!.proxyWarmup = 150;
  const warm = renderTable([run], undefined, ['direct', 'floor', 'bare', 'record-trace']).split('\n');
  assert.deepEqual(warm.find((l) => l.trimStart().startsWith('CPU µs/call: in between, warm-up'))?.slice(58).trim().split(/\s{2,}/), ['45.0', '150']);
  const rss = { ...run, id: 'fake-exec-8mib', metrics: [{ id: 'peakRssMB', label: 'critap peak RSS', unit: 'MB', better: 'lower' as const }] };
  assert.ok(!renderTable([rss], undefined, ['direct', 'floor', 'bare']).includes('× floor'), 'no floor row where the floor has no figure');
});

test('idle RSS is judged where critap settles at a quiet pace, with the figure after the burst beside it', () => {
  const judge = (rounds: Parameters<typeof judgeTargets>[4]) => judgeTargets([], undefined, false, undefined, rounds).find((t) => t.name.startsWith('critap idle RSS'))!;
  const settled = judge({ rounds: [{ rssMB: 88, pacedRssMB: 77, pacedCalls: 300, pacedMs: 30_000, peakMB: 95, calls: 200, idleMs: 5000 }] });
  assert.equal(settled.status, 'met');
  assert.match(settled.measured, /^77\.0 MB at 10 calls\/s \(88\.0 MB 5 s after the burst/);
  assert.equal(judge({ rounds: [{ rssMB: 70, pacedRssMB: 81, pacedCalls: 300, pacedMs: 30_000, peakMB: 95, calls: 200, idleMs: 5000 }] }).status, 'not met');
});
