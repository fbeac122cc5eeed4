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
 * What the span says is decided once per call, straight from the call record
 * (callSpanFacts), not by starting and ending a span through the SDK's Tracer: the
 * call is over by the time its span is built, so a live Span object (with its limits
 * bookkeeping and processor callbacks) would only be overhead. The live proxy writes
 * those facts as OTLP bytes (otlp-span-encoder.ts); recording export turns them into
 * the SDK's ReadableSpan (buildCallSpan). Its ids are chosen here, which is also how a
 * call sent on with critap's own traceparent (`--propagate-trace`) keeps them.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type HrTime, type SpanContext, type SpanStatus, type TraceState } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { messageLength, statusName, type CallRecord } from '../call.js';
import { callAttributes, spanName } from './call-attributes.js';
import { ATTR, EVENT_ATTR, FAULT_EVENT, MESSAGE_EVENT } from './names.js';
import type { PodIds } from './pod-links.js';
import { parseTraceparent, randomSpanId, randomTraceId } from './trace-ids.js';
import { RECORD_AND_SAMPLED, type SpanSampler } from './samplers.js';
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
  /** critap's samplers (samplers.ts) or any of the SDK's. */
  sampler: SpanSampler;
  /** Most message events kept per span (OTEL_SPAN_EVENT_COUNT_LIMIT, default 128); the last ones are kept. */
  eventLimit: number;
}

function hrDuration(ns: number): HrTime {
  const whole = Math.max(0, Math.round(ns));
  return [Math.floor(whole / 1e9), whole % 1e9];
}

/** A span event, its time in nanoseconds since the epoch. */
export interface CallSpanEvent {
  name: string;
  timeNs: bigint;
  attributes: Attributes;
}

/**
 * Everything a call's span says, decided once: the SDK-shaped span (buildCallSpan, for
 * recording export) and the live pipeline's OTLP bytes (otlp-span-encoder.ts) are both written
 * from these, so they cannot say different things.
 */
export interface CallSpanFacts {
  name: string;
  traceId: string;
  spanId: string;
  /** The sampler's trace state, else the parent's. */
  traceState: TraceState | undefined;
  /** The client's span (from its traceparent), remote. */
  parent: SpanContext | undefined;
  startNs: bigint;
  endNs: bigint;
  durationNs: number;
  attributes: Attributes;
  events: CallSpanEvent[];
  droppedEvents: number;
  status: SpanStatus;
}

/** What the call's span says, or undefined when the sampler leaves it out. */
export function callSpanFacts(source: SpanSource, input: SpanInput): CallSpanFacts | undefined {
  const { call } = input;
  const name = spanName(call.method);
  const context = parentContext(call.requestMetadata);
  const parent = trace.getSpanContext(context);
  const sent = call.propagatedTraceparent ? parseTraceparent(call.propagatedTraceparent) : undefined;
  const traceId = parent?.traceId ?? sent?.traceId ?? randomTraceId();
  const attributes = callAttributes(call, input.ids, input.upstream);
  const sampling = source.sampler.shouldSample(context, traceId, name, SpanKind.SERVER, attributes, []);
  if (sampling.decision !== RECORD_AND_SAMPLED) return undefined; // nothing more to spend on it
  if (sampling.attributes) Object.assign(attributes, sampling.attributes);

  const events: CallSpanEvent[] = [];
  let droppedEvents = 0;
  if (input.serverStreaming) {
    const first = Math.max(0, call.responses.length - source.eventLimit);
    droppedEvents = first;
    for (let i = first; i < call.responses.length; i++) {
      const m = call.responses[i]!;
      events.push({
        name: MESSAGE_EVENT,
        timeNs: call.startNs + BigInt(Math.round(m.offsetNs)),
        attributes: {
          // SENT: from the server span's point of view the runtime's answers go out to the client.
          [EVENT_ATTR.type]: 'SENT',
          [EVENT_ATTR.id]: i + 1,
          [m.compressed ? EVENT_ATTR.compressedSize : EVENT_ATTR.size]: messageLength(m),
        },
      });
    }
  }
  if (call.fault) {
    // The span must never pass critap's injected answer off as the runtime's.
    attributes[ATTR.faultRule] = call.fault.rule;
    attributes[ATTR.faultActions] = call.fault.actions;
    events.push({
      name: FAULT_EVENT,
      timeNs: call.startNs,
      attributes: { 'critap.fault.rule_id': call.fault.ruleId, [ATTR.faultRule]: call.fault.rule, [ATTR.faultActions]: call.fault.actions },
    });
  }
  return {
    name,
    traceId,
    spanId: sent?.spanId ?? randomSpanId(),
    traceState: sampling.traceState ?? parent?.traceState,
    parent,
    startNs: call.startNs,
    endNs: call.startNs + BigInt(Math.round(call.durationNs)),
    durationNs: call.durationNs,
    attributes,
    events,
    droppedEvents,
    // Every non-OK code is an error here: a CRI caller (the kubelet) treats them all as a failed operation.
    status:
      call.status.code === 0 ? { code: SpanStatusCode.UNSET } : { code: SpanStatusCode.ERROR, message: call.status.message || statusName(call.status.code) },
  };
}

/** The call's span as the SDK's ReadableSpan, or undefined when the sampler leaves it out. */
export function buildCallSpan(source: SpanSource, input: SpanInput): ReadableSpan | undefined {
  const f = callSpanFacts(source, input);
  return f && spanFromFacts(source, f);
}

/** The SDK's ReadableSpan saying what `f` says. */
export function spanFromFacts(source: SpanSource, f: CallSpanFacts): ReadableSpan {
  const spanContext: SpanContext = { traceId: f.traceId, spanId: f.spanId, traceFlags: 1, traceState: f.traceState };
  return {
    name: f.name,
    kind: SpanKind.SERVER,
    spanContext: () => spanContext,
    parentSpanContext: f.parent,
    startTime: nsToHrTime(f.startNs),
    endTime: nsToHrTime(f.endNs),
    duration: hrDuration(f.durationNs),
    ended: true,
    status: f.status,
    attributes: f.attributes,
    links: [],
    events: f.events.map((e): TimedEvent => ({ name: e.name, time: nsToHrTime(e.timeNs), attributes: e.attributes, droppedAttributesCount: 0 })),
    resource: source.resource,
    instrumentationScope: source.scope,
    droppedAttributesCount: 0,
    droppedEventsCount: f.droppedEvents,
    droppedLinksCount: 0,
  };
}

/** OTEL_SPAN_EVENT_COUNT_LIMIT, else 128 (the SDK's default). */
export function eventLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env['OTEL_SPAN_EVENT_COUNT_LIMIT']);
  return env['OTEL_SPAN_EVENT_COUNT_LIMIT']?.trim() && Number.isInteger(v) && v >= 0 ? v : 128;
}
