/**
 * Turns one finished call into one span. Shared by the live sink and by
 * recording export, so both produce the same span for the same call.
 *
 * Span kind SERVER: critap's span stands where the call was *received* — it is
 * the server side of the kubelet's CLIENT span (its parent via traceparent) and
 * measures what the kubelet waited for, proxy included. CLIENT would claim
 * critap originated the call, and INTERNAL would hide the RPC from tools
 * (Tempo's service graph, span metrics) that pair client and server spans.
 *
 * The span is built as a finished ReadableSpan, straight from the call record,
 * not started and ended through the SDK's Tracer: the call is over by the time
 * its span is built, so a live Span object (with its limits bookkeeping and
 * processor callbacks) would only be overhead. The SDK's batch processor and the
 * OTLP exporter take it from there. Its ids are chosen here, which is also how a
 * call sent on with critap's own traceparent (`--propagate-trace`) keeps them.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type HrTime, type SpanContext, type SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { SamplingDecision, type ReadableSpan, type Sampler, type TimedEvent } from '@opentelemetry/sdk-trace-base';
import { messageLength, statusName, type CallRecord } from '../call.js';
import { callAttributes, spanName } from './call-attributes.js';
import { ATTR, EVENT_ATTR, FAULT_EVENT, MESSAGE_EVENT } from './names.js';
import type { PodIds } from './pod-links.js';
import { parseTraceparent, randomSpanId, randomTraceId } from './trace-ids.js';
import { parentContext } from './trace-parent.js';

const NS_PER_S = 1_000_000_000n;

/** Nanoseconds since the epoch → OpenTelemetry's [seconds, nanoseconds], without losing precision. */
export function nsToHrTime(ns: bigint): HrTime {
  return [Number(ns / NS_PER_S), Number(ns % NS_PER_S)];
}

export interface SpanInput {
  call: CallRecord;
  ids: PodIds;
  /** `server.address` and friends, computed once per upstream. */
  upstream: Attributes;
  /** Each response message becomes a span event (server-streaming methods only). */
  serverStreaming: boolean;
}

/** What every span of one pipeline shares. */
export interface SpanSource {
  resource: Resource;
  scope: InstrumentationScope;
  sampler: Sampler;
  /** Most message events kept per span (OTEL_SPAN_EVENT_COUNT_LIMIT, default 128); the last ones are kept. */
  eventLimit: number;
}

function hrDuration(ns: number): HrTime {
  const whole = Math.max(0, Math.round(ns));
  return [Math.floor(whole / 1e9), whole % 1e9];
}

/** The call's span, or undefined when the sampler leaves it out. */
export function buildCallSpan(source: SpanSource, input: SpanInput): ReadableSpan | undefined {
  const { call } = input;
  const name = spanName(call.method);
  const context = parentContext(call.requestMetadata);
  const parent = trace.getSpanContext(context);
  const sent = call.propagatedTraceparent ? parseTraceparent(call.propagatedTraceparent) : undefined;
  const traceId = parent?.traceId ?? sent?.traceId ?? randomTraceId();
  const attributes = callAttributes(call, input.ids, input.upstream);
  const sampling = source.sampler.shouldSample(context, traceId, name, SpanKind.SERVER, attributes, []);
  if (sampling.decision !== SamplingDecision.RECORD_AND_SAMPLED) return undefined; // nothing more to spend on it
  if (sampling.attributes) Object.assign(attributes, sampling.attributes);
  const spanContext: SpanContext = {
    traceId,
    spanId: sent?.spanId ?? randomSpanId(),
    traceFlags: 1,
    traceState: sampling.traceState ?? parent?.traceState,
  };

  const events: TimedEvent[] = [];
  let droppedEvents = 0;
  if (input.serverStreaming) {
    const first = Math.max(0, call.responses.length - source.eventLimit);
    droppedEvents = first;
    for (let i = first; i < call.responses.length; i++) {
      const m = call.responses[i]!;
      events.push({
        name: MESSAGE_EVENT,
        time: nsToHrTime(call.startNs + BigInt(Math.round(m.offsetNs))),
        attributes: {
          // SENT: from the server span's point of view the runtime's answers go out to the client.
          [EVENT_ATTR.type]: 'SENT',
          [EVENT_ATTR.id]: i + 1,
          [m.compressed ? EVENT_ATTR.compressedSize : EVENT_ATTR.size]: messageLength(m),
        },
        droppedAttributesCount: 0,
      });
    }
  }
  if (call.fault) {
    // The span must never pass critap's injected answer off as the runtime's.
    attributes[ATTR.faultRule] = call.fault.rule;
    attributes[ATTR.faultActions] = call.fault.actions;
    events.push({
      name: FAULT_EVENT,
      time: nsToHrTime(call.startNs),
      attributes: { 'critap.fault.rule_id': call.fault.ruleId, [ATTR.faultRule]: call.fault.rule, [ATTR.faultActions]: call.fault.actions },
      droppedAttributesCount: 0,
    });
  }
  // Every non-OK code is an error here: a CRI caller (the kubelet) treats them all as a failed operation.
  const status: SpanStatus =
    call.status.code === 0 ? { code: SpanStatusCode.UNSET } : { code: SpanStatusCode.ERROR, message: call.status.message || statusName(call.status.code) };
  return {
    name,
    kind: SpanKind.SERVER,
    spanContext: () => spanContext,
    parentSpanContext: parent,
    startTime: nsToHrTime(call.startNs),
    endTime: nsToHrTime(call.startNs + BigInt(Math.round(call.durationNs))),
    duration: hrDuration(call.durationNs),
    ended: true,
    status,
    attributes,
    links: [],
    events,
    resource: source.resource,
    instrumentationScope: source.scope,
    droppedAttributesCount: 0,
    droppedEventsCount: droppedEvents,
    droppedLinksCount: 0,
  };
}

/** OTEL_SPAN_EVENT_COUNT_LIMIT, else 128 (the SDK's default). */
export function eventLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env['OTEL_SPAN_EVENT_COUNT_LIMIT']);
  return env['OTEL_SPAN_EVENT_COUNT_LIMIT']?.trim() && Number.isInteger(v) && v >= 0 ? v : 128;
}
