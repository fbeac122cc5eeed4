/**
 * --timing: answers come after the recorded latency, scaled. Checked as ratios between runs
 * (machines differ in speed; the ratio of two waits does not), with a wide tolerance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replay } from '../../src/replay/index.js';
import { callView } from '../../src/record/call-view.js';
import { rawClient, streamCall, unaryCall } from '../support/fake-upstream.js';
import { EVENTS, SEED, recordedCall, recordedCalls } from './replay-helpers.js';

/** Arrival times (ms after the call started) of the stream's messages. */
async function eventArrivals(timing: string): Promise<number[]> {
  const [rec] = await recordedCalls(EVENTS);
  const runtime = await replay({ recording: EVENTS, timing });
  const client = rawClient(runtime.endpoint);
  try {
    await unaryCall(client, '/runtime.v1.RuntimeService/Version', Buffer.alloc(0)); // connect first: not part of the timing
    const start = performance.now();
    const arrivals: number[] = [];
    await new Promise<void>((resolve) => {
      const call = streamCall(client, rec!.method, Buffer.alloc(0));
      call.on('data', () => {
        arrivals.push(performance.now() - start);
        if (arrivals.length === rec!.responses.length) {
          call.cancel();
          resolve();
        }
      });
      call.on('error', () => resolve());
    });
    return arrivals;
  } finally {
    client.close();
    await runtime.close();
  }
}

test('stream replay: messages keep the recorded gaps, scaled by the factor', async () => {
  const [rec] = await recordedCalls(EVENTS);
  const offsets = rec!.responses.map((m) => m.offsetNs / 1e6);
  const recorded = await eventArrivals('recorded');
  const half = await eventArrivals('0.5x');
  const none = await eventArrivals('none');
  const last = offsets.length - 1;
  // At the recorded pace the last message comes about when it did (never early).
  const paced = recorded[last]! / offsets[last]!;
  assert.ok(paced > 0.95 && paced < 1.6, `recorded pace: ${recorded[last]!.toFixed(1)} ms for ${offsets[last]!.toFixed(1)} ms recorded`);
  const ratio = recorded[last]! / half[last]!;
  assert.ok(ratio > 1.4 && ratio < 2.6, `1x vs 0.5x: ${ratio.toFixed(2)} (want about 2)`);
  // The gaps between messages, not just the total: the longest recorded gap stays the longest.
  const gaps = (xs: number[]) => xs.slice(1).map((x, i) => x - xs[i]!);
  const recGaps = gaps(offsets);
  const longest = recGaps.indexOf(Math.max(...recGaps));
  assert.equal(gaps(recorded).indexOf(Math.max(...gaps(recorded))), longest);
  assert.ok(none[last]! < recorded[last]! / 4, `--timing none is not paced: ${none[last]!.toFixed(1)} ms`);
});

test('unary replay: the answer waits the recorded latency, scaled', async () => {
  // The slowest call gives the clearest ratio (RunPodSandbox, ~300 ms); of the calls that name no
  // sandbox or container, so a fresh replay answers it as recorded, out of any life cycle.
  const slow = (await recordedCalls(SEED))
    .filter((c) => !/podSandboxId|containerId/.test(JSON.stringify(callView(c).request ?? {})))
    .reduce((a, b) => (b.durationNs > a.durationNs ? b : a));
  assert.ok(slow.durationNs > 20e6, 'the seed recording has a call slower than 20 ms');
  const time = async (timing: string) => {
    const runtime = await replay({ recording: SEED, timing });
    const client = rawClient(runtime.endpoint);
    try {
      const v = await recordedCall(SEED, 'Version');
      await unaryCall(client, v.method, v.requests[0]!.data);
      const start = performance.now();
      const r = await unaryCall(client, slow.method, slow.requests[0]!.data);
      assert.ok(r.response?.equals(slow.responses[0]!.data));
      return performance.now() - start;
    } finally {
      client.close();
      await runtime.close();
    }
  };
  // Load on the machine only ever adds to a wait, so the least of three tries is the replay's own.
  const least = async (timing: string) => Math.min(await time(timing), await time(timing), await time(timing));
  const twice = await least('2x');
  const once = await least('recorded');
  const ratio = twice / once;
  assert.ok(ratio > 1.4 && ratio < 2.6, `2x vs recorded: ${ratio.toFixed(2)} (${twice.toFixed(1)} / ${once.toFixed(1)} ms; recorded ${(slow.durationNs / 1e6).toFixed(1)} ms)`);
});
