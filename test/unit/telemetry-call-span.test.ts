/**
 * buildCallSpan: the finished SDK span of a call (recording export's; the live proxy encodes the same facts as OTLP bytes), built straight from a call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import { buildCallSpan, eventLimitFromEnv, type SpanSource } from '../../src/telemetry/call-span.js';
import { RUNTIME, makeCall } from '../support/telemetry-calls.js';

const source = (over: Partial<SpanSource> = {}): SpanSource => ({
  resource: resourceFromAttributes({ 'service.name': 'critap-test' }),
  scope: { name: 'critap', version: 'test' },
  sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  eventLimit: 128,
  ...over,
});
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

test('a span with the call\'s times, the kubelet\'s parent, SERVER kind and an unset status when OK', () => {
  const call = makeCall({
    method: `${RUNTIME}/Version`,
    request: { version: 'v1' },
    response: { version: '0.1.0' },
    startNs: 1_760_000_000_123_456_789n,
    durationNs: 2_500_000_001,
    metadata: [['traceparent', `00-${TRACE}-${PARENT}-01`], ['tracestate', 'k8s=1']],
  });
  const span = buildCallSpan(source(), { call, ids: {}, upstream: {}, serverStreaming: false })!;
  assert.equal(span.name, 'runtime.v1.RuntimeService/Version');
  assert.equal(span.kind, SpanKind.SERVER);
  assert.deepEqual(span.startTime, [1_760_000_000, 123_456_789]);
  assert.deepEqual(span.endTime, [1_760_000_002, 623_456_790]);
  assert.deepEqual(span.duration, [2, 500_000_001]);
  assert.equal(span.spanContext().traceId, TRACE);
  assert.match(span.spanContext().spanId, /^[0-9a-f]{16}$/);
  assert.equal(span.spanContext().traceFlags, 1);
  assert.equal(span.spanContext().traceState?.serialize(), 'k8s=1');
  assert.equal(span.parentSpanContext?.spanId, PARENT);
  assert.equal(span.status.code, SpanStatusCode.UNSET);
  assert.equal(span.attributes['rpc.method'], 'Version');
  assert.equal(span.ended, true);
});

test('errors set the status; the ids critap sent the runtime are the span\'s; sampled-out calls give none', () => {
  const failed = makeCall({ method: `${RUNTIME}/ContainerStatus`, request: { containerId: 'x' }, status: { code: 5, message: 'not found' } });
  failed.propagatedTraceparent = `00-${TRACE}-b7ad6b7169203331-01`;
  const span = buildCallSpan(source(), { call: failed, ids: {}, upstream: {}, serverStreaming: false })!;
  assert.deepEqual(span.status, { code: SpanStatusCode.ERROR, message: 'not found' });
  assert.equal(span.spanContext().traceId, TRACE, 'no client parent: the trace critap started for the runtime');
  assert.equal(span.spanContext().spanId, 'b7ad6b7169203331');
  assert.equal(span.parentSpanContext, undefined);

  const unsampled = makeCall({ method: `${RUNTIME}/Version`, request: {}, metadata: [['traceparent', `00-${TRACE}-${PARENT}-00`]] });
  assert.equal(buildCallSpan(source(), { call: unsampled, ids: {}, upstream: {}, serverStreaming: false }), undefined);
  assert.equal(buildCallSpan(source({ sampler: new AlwaysOffSampler() }), { call: failed, ids: {}, upstream: {}, serverStreaming: false }), undefined);
});

test('a long event stream keeps the last events up to the limit and counts the rest', () => {
  const events = Array.from({ length: 300 }, () => ({ containerId: 'c', containerEventType: 'CONTAINER_STARTED_EVENT' }));
  const call = makeCall({ method: `${RUNTIME}/GetContainerEvents`, request: {}, response: events, durationNs: 3_000_000_000 });
  const span = buildCallSpan(source({ eventLimit: 128 }), { call, ids: {}, upstream: {}, serverStreaming: true })!;
  assert.equal(span.events.length, 128);
  assert.equal(span.droppedEventsCount, 172);
  assert.equal(span.events[0]!.attributes!['rpc.message.id'], 173);
  assert.equal(span.events.at(-1)!.attributes!['rpc.message.id'], 300);
  assert.equal(eventLimitFromEnv({}), 128);
  assert.equal(eventLimitFromEnv({ OTEL_SPAN_EVENT_COUNT_LIMIT: '16' }), 16);
  assert.equal(eventLimitFromEnv({ OTEL_SPAN_EVENT_COUNT_LIMIT: 'many' }), 128);
});

test('a call a fault rule fired on says so: attributes and a critap.fault.injected event', () => {
  const call = makeCall({ method: `${RUNTIME}/RunPodSandbox`, request: {}, status: { code: 14, message: 'injected' } });
  call.fault = { ruleId: 3, rule: 'method=RunPodSandbox,error=UNAVAILABLE', actions: ['error'] };
  const span = buildCallSpan(source(), { call, ids: {}, upstream: {}, serverStreaming: false })!;
  assert.equal(span.attributes['critap.fault.rule'], 'method=RunPodSandbox,error=UNAVAILABLE');
  assert.deepEqual(span.attributes['critap.fault.actions'], ['error']);
  const event = span.events.find((e) => e.name === 'critap.fault.injected');
  assert.ok(event);
  assert.equal(event.attributes?.['critap.fault.rule_id'], 3);
  assert.equal(span.status.code, SpanStatusCode.ERROR);
  const plain = buildCallSpan(source(), { call: makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {} }), ids: {}, upstream: {}, serverStreaming: false })!;
  assert.equal(plain.attributes['critap.fault.rule'], undefined);
});
