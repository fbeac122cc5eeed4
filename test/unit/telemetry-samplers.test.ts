/**
 * critap's samplers (src/telemetry/samplers.ts) decide exactly as the SDK's samplers of the same
 * names, for every kind of parent and many trace ids.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanKind, TraceFlags, trace, type Context } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace-base';
import { AlwaysOff, AlwaysOn, ParentBased, TraceIdRatio, type SpanSampler } from '../../src/telemetry/samplers.js';
import { randomTraceId } from '../../src/telemetry/trace-ids.js';

const SPAN = '00f067aa0ba902b7';

function parents(traceId: string): [string, Context][] {
  const with_ = (traceFlags: number, isRemote: boolean, spanId = SPAN) => trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags, isRemote });
  return [
    ['no parent', ROOT_CONTEXT],
    ['remote, sampled', with_(TraceFlags.SAMPLED, true)],
    ['remote, not sampled', with_(TraceFlags.NONE, true)],
    ['local, sampled', with_(TraceFlags.SAMPLED, false)],
    ['local, not sampled', with_(TraceFlags.NONE, false)],
    ['invalid parent span id', with_(TraceFlags.SAMPLED, true, '0000000000000000')],
  ];
}

const pairs = (): [string, SpanSampler, Sampler][] => {
  const out: [string, SpanSampler, Sampler][] = [
    ['always_on', new AlwaysOn(), new AlwaysOnSampler()],
    ['always_off', new AlwaysOff(), new AlwaysOffSampler()],
    ['parentbased_always_on', new ParentBased(new AlwaysOn()), new ParentBasedSampler({ root: new AlwaysOnSampler() })],
    ['parentbased_always_off', new ParentBased(new AlwaysOff()), new ParentBasedSampler({ root: new AlwaysOffSampler() })],
  ];
  for (const r of [0, 0.001, 0.25, 0.5, 0.999, 1, -1, 7, Number.NaN]) {
    out.push([`traceidratio ${r}`, new TraceIdRatio(r), new TraceIdRatioBasedSampler(r)]);
    out.push([`parentbased_traceidratio ${r}`, new ParentBased(new TraceIdRatio(r)), new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(r) })]);
  }
  return out;
};

test('every sampler decides as the SDK sampler of the same name', () => {
  const ids = [...Array.from({ length: 300 }, () => randomTraceId()), 'ffffffffffffffffffffffffffffffff', '00000000000000000000000000000001', '0'.repeat(32), 'not-a-trace-id', '4BF92F3577B34DA6A3CE929D0E0E4736'];
  let sampledSome = false;
  let droppedSome = false;
  for (const [name, ours, sdk] of pairs()) {
    assert.equal(ours.toString(), sdk.toString(), name);
    for (const id of ids) {
      for (const [parent, ctx] of parents(id)) {
        const a = ours.shouldSample(ctx, id, 'x', SpanKind.SERVER, {}, []).decision;
        const b = sdk.shouldSample(ctx, id, 'x', SpanKind.SERVER, {}, []).decision;
        assert.equal(a, b, `${name}, ${parent}, trace ${id}`);
        if (a === 2) sampledSome = true;
        else droppedSome = true;
      }
    }
  }
  assert.ok(sampledSome && droppedSome);
});
