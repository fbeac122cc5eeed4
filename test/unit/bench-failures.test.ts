import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchFailures } from '../../bench/failures.js';
import type { ScenarioRun } from '../../bench/report.js';

const run = (over: Partial<ScenarioRun>): ScenarioRun => ({ id: 'fake-version', title: 't', upstream: 'fake', metrics: [], variants: ['direct', 'bare'], missing: {}, rounds: {}, ...over });

test('the benchmark fails on what it could not measure, not on targets or saturation drops', () => {
  const clean = run({ rounds: { direct: [{ round: 1, ok: 10 }], bare: [{ round: 1, ok: 10, observers: { recordDropped: 5 } as never }] } });
  assert.deepEqual(benchFailures({ runs: [clean], recorder: { rounds: [] }, startup: { runsPerCommand: 1, npxRuns: 1, commands: [{ label: 'ls', target: true, wallMs: [900], cpuMs: [1] }] } }), []);
  const broken = [
    run({ id: 'containerd-version', skipped: 'containerd did not start' }),
    run({ missing: { floor: 'socat not found' } }),
    run({ rounds: { bare: [{ round: 2, failure: 'critap exited' }], direct: [{ round: 1, ok: 9, errors: 1, firstError: 'UNAVAILABLE' }] } }),
  ];
  const failures = benchFailures({
    runs: broken,
    recorder: { rounds: [], failure: 'leveldb' },
    replayLoad: { shape: { seconds: 1, pods: 1, statsEvery: 1, restartEvery: 1 }, calls: 0, recordingMB: 0, rounds: [], failure: 'no answer' },
    startup: { runsPerCommand: 1, npxRuns: 1, commands: [{ label: 'show', target: true, wallMs: [], cpuMs: [], failure: 'exit 2' }] },
  });
  assert.deepEqual(failures, [
    'containerd-version: not run (containerd did not start)',
    'fake-version socat (floor): not run (socat not found)',
    'fake-version critap bare round 2: critap exited',
    'fake-version direct round 1: 1 calls failed (UNAVAILABLE)',
    'recorder: leveldb',
    'replay-load: no answer',
    'cli-startup show: exit 2',
  ]);
});
