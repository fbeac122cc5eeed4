/**
 * Turns one finished call into one span. Shared by the live sink and by
 * recording export, so both produce the same span for the same call.
 *
 * Span kind SERVER: critap's span stands where the call was *received* — it is
 * the server side of the kubelet's CLIENT span (its parent via traceparent) and
 * measures what the kubelet waited for, proxy included. CLIENT would claim
 * critap originated the call, and INTERNAL would hide the RPC from tools
 * (Tempo's service graph, span metrics) that pair client and server spans.
 */
import { SpanKind, SpanStatusCode, type Attributes, type HrTime, type Tracer } from '@opentelemetry/api';
import { statusName, type CallRecord } from '../call.js';
import { callAttributes, spanName } from './call-attributes.js';
import { EVENT_ATTR, MESSAGE_EVENT } from './names.js';
import type { PodIds } from './pod-links.js';
import { parseTraceparent, type PresetIdGenerator } from './trace-ids.js';
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

/**
 * @param presetIds the tracer's id generator; a call that went to the runtime with critap's own
 *   traceparent (`--propagate-trace`) gets exactly those ids, so the runtime's span nests under it.
 */
export function emitCallSpan(tracer: Tracer, input: SpanInput, presetIds?: PresetIdGenerator): void {
  const { call } = input;
  if (presetIds && call.propagatedTraceparent) presetIds.preset(parseTraceparent(call.propagatedTraceparent));
  const span = tracer.startSpan(
    spanName(call.method),
    { kind: SpanKind.SERVER, startTime: nsToHrTime(call.startNs), attributes: callAttributes(call, input.ids, input.upstream) },
    parentContext(call.requestMetadata),
  );
  presetIds?.preset(undefined);
  if (!span.isRecording()) return; // not sampled: nothing more to spend on it
  if (input.serverStreaming) {
    call.responses.forEach((m, i) => {
      span.addEvent(
        MESSAGE_EVENT,
        {
          // SENT: from the server span's point of view the runtime's answers go out to the client.
          [EVENT_ATTR.type]: 'SENT',
          [EVENT_ATTR.id]: i + 1,
          [m.compressed ? EVENT_ATTR.compressedSize : EVENT_ATTR.size]: m.data.length,
        },
        nsToHrTime(call.startNs + BigInt(Math.round(m.offsetNs))),
      );
    });
  }
  if (call.status.code !== 0) {
    // Every non-OK code is an error here: a CRI caller (the kubelet) treats them all as a failed operation.
    span.setStatus({ code: SpanStatusCode.ERROR, message: call.status.message || statusName(call.status.code) });
  }
  span.end(nsToHrTime(call.startNs + BigInt(Math.round(call.durationNs))));
}
