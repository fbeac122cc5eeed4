/**
 * Child process: the recorder alone, fed synthetic kubelet-like calls with no proxy in front.
 *
 * Two runs per measurement:
 *  - capacity: calls are offered as fast as the producer can hand them over, pausing only while
 *    the queue is near its limit; calls/s = calls stored ÷ time until the last one is in LevelDB.
 *  - paced: calls arrive at a steady 20 000/s (the target rate), in 5 ms ticks, with the recorder's
 *    default queue limit; anything the writer cannot absorb shows up as dropped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openRecorder, type Recorder } from '../src/record/index.js';
import { childArgs, failChild, tell } from './children.js';
import { syntheticCallMaker } from './fixtures.js';
import { wallMs } from './load.js';

export interface RecorderArgs {
  workDir: string;
  calls: number;
  pacedRate: number;
}

export interface RecorderFigures {
  callsPerSec: number;
  capacityDropped: number;
  pacedCallsPerSec: number;
  pacedDropped: number;
  pacedPeakQueue: number;
}

const makeCall = syntheticCallMaker();
const turn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Producer pauses at this queue depth: under the recorder's limits of 50 000 calls and 32 MiB of queued bodies. */
const HIGH_WATER = 10_000;

async function withRecorder<T>(workDir: string, fn: (rec: Recorder) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(workDir, 'recorder-'));
  const rec = await openRecorder({ dir });
  try {
    return await fn(rec);
  } finally {
    await rec.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function capacity(workDir: string, calls: number) {
  return withRecorder(workDir, async (rec) => {
    const t0 = wallMs();
    for (let i = 0; i < calls; ) {
      if (rec.stats().queued >= HIGH_WATER) {
        await sleep(1);
        continue;
      }
      const end = Math.min(calls, i + 1000);
      for (; i < end; i++) rec.onCallEnd(makeCall(i));
      await turn();
    }
    await rec.flush();
    const s = rec.stats();
    return { callsPerSec: s.recorded / ((wallMs() - t0) / 1000), dropped: s.dropped };
  });
}

async function paced(workDir: string, calls: number, rate: number) {
  return withRecorder(workDir, async (rec) => {
    const t0 = wallMs();
    let sent = 0;
    let peakQueue = 0;
    while (sent < calls) {
      // Hand over whatever the clock says is due, so a slow tick is caught up, not skipped.
      const due = Math.min(calls, Math.floor(((wallMs() - t0) / 1000) * rate));
      for (; sent < due; sent++) rec.onCallEnd(makeCall(calls + sent));
      peakQueue = Math.max(peakQueue, rec.stats().queued);
      await sleep(5);
    }
    await rec.flush();
    const s = rec.stats();
    return { callsPerSec: s.recorded / ((wallMs() - t0) / 1000), dropped: s.dropped, peakQueue };
  });
}

async function main(): Promise<void> {
  const args = childArgs<RecorderArgs>();
  await capacity(args.workDir, Math.min(2000, args.calls)); // warm-up: JIT, LevelDB open paths
  const cap = await capacity(args.workDir, args.calls);
  const pace = await paced(args.workDir, args.calls, args.pacedRate);
  const figures: RecorderFigures = {
    callsPerSec: cap.callsPerSec,
    capacityDropped: cap.dropped,
    pacedCallsPerSec: pace.callsPerSec,
    pacedDropped: pace.dropped,
    pacedPeakQueue: pace.peakQueue,
  };
  tell({ type: 'ready', figures });
  setTimeout(() => process.exit(0), 20);
}

main().catch(failChild);
