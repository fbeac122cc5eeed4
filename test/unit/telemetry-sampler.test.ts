/**
 * The sampler built from OTEL_TRACES_SAMPLER(_ARG), and the trace-context helpers behind
 * --propagate-trace: the forwarding thread and the span pipeline must reach the same decision
 * for the same call, and ids must round-trip through a traceparent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { samplerFromEnv } from '../../src/telemetry/sampler.js';
import { SpanContextPropagation } from '../../src/telemetry/propagation.js';
import { formatTraceparent, parseTraceparent, randomSpanId, randomTraceId } from '../../src/telemetry/trace-ids.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

function decide(env: NodeJS.ProcessEnv, traceId: string, parentSampled?: boolean): boolean {
  const ctx =
    parentSampled === undefined
      ? ROOT_CONTEXT
      : trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: SPAN, traceFlags: parentSampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true });
  return samplerFromEnv(env).shouldSample(ctx, traceId, 'x', SpanKind.SERVER, {}, []).decision === SamplingDecision.RECORD_AND_SAMPLED;
}

test('OTEL_TRACES_SAMPLER values as the specification names them; default parentbased_always_on', () => {
  const t = randomTraceId();
  assert.equal(decide({}, t), true);
  assert.equal(decide({}, t, false), false, 'default follows an unsampled parent');
  assert.equal(decide({}, t, true), true);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: 'always_on' }, t, false), true);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: 'always_off' }, t, true), false);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, t), false);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }, t, true), true);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: 'TraceIdRatio', OTEL_TRACES_SAMPLER_ARG: '0' }, t), false);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' }, t), true);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }, t, true), true);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }, t), false);
});

test('a ratio sampler decides from the trace id alone: the same call gets the same decision twice', () => {
  const env = { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' };
  let sampled = 0;
  for (let i = 0; i < 400; i++) {
    const t = randomTraceId();
    const first = decide(env, t);
    assert.equal(decide(env, t), first);
    if (first) sampled++;
  }
  assert.ok(sampled > 120 && sampled < 280, `about half sampled, got ${sampled}/400`);
});

test('bad sampler settings warn and fall back', () => {
  const warnings: string[] = [];
  const s = samplerFromEnv({ OTEL_TRACES_SAMPLER: 'sometimes' }, (m) => warnings.push(m));
  assert.match(s.toString(), /ParentBased/);
  samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, (m) => warnings.push(m));
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /"sometimes" is not one of/);
  assert.match(warnings[1]!, /not a ratio between 0 and 1/);
});

test('traceparent parsing and formatting (W3C trace context)', () => {
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, spanId: SPAN, sampled: true });
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-00`), { traceId: TRACE, spanId: SPAN, sampled: false });
  assert.equal(parseTraceparent(`00-${'0'.repeat(32)}-${SPAN}-01`), undefined, 'zero trace id');
  assert.equal(parseTraceparent(`00-${TRACE}-${'0'.repeat(16)}-01`), undefined, 'zero span id');
  assert.equal(parseTraceparent(`ff-${TRACE}-${SPAN}-01`), undefined, 'version ff');
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-01-extra`), undefined, 'version 00 has exactly four fields');
  assert.ok(parseTraceparent(`01-${TRACE}-${SPAN}-01-future`), 'later versions may add fields');
  assert.equal(parseTraceparent('garbage'), undefined);
  assert.equal(formatTraceparent(TRACE, SPAN, true), `00-${TRACE}-${SPAN}-01`);
  const ids = new Set(Array.from({ length: 2000 }, () => randomSpanId()));
  assert.equal(ids.size, 2000);
  for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/);
});

test('the traceparent critap sends: same trace, new span, the sampler\'s flag', () => {
  const prop = new SpanContextPropagation(samplerFromEnv({}));
  const child = parseTraceparent(prop.traceparentFor('/runtime.v1.RuntimeService/Version', [[':path', '/x'], ['traceparent', `00-${TRACE}-${SPAN}-01`]]))!;
  assert.equal(child.traceId, TRACE);
  assert.notEqual(child.spanId, SPAN);
  assert.equal(child.sampled, true);
  const unsampled = parseTraceparent(prop.traceparentFor('/x', [['traceparent', `00-${TRACE}-${SPAN}-00`]]))!;
  assert.equal(unsampled.sampled, false);
  const root = parseTraceparent(prop.traceparentFor('/x', [['traceparent', 'not-a-traceparent']]))!;
  assert.notEqual(root.traceId, TRACE, 'an invalid parent starts a new trace');
  assert.equal(root.sampled, true);
});
