/**
 * `--propagate-trace`: critap's span becomes the parent of the runtime's.
 *
 * Off by default. A transparent proxy leaves the kubelet's traceparent alone, so containerd's
 * span is a sibling of critap's under the kubelet's span, and critap changes no byte. With the
 * flag on, each request's traceparent is replaced by one naming critap's own span (same trace,
 * new span id, the sampling decision critap's sampler makes), giving the nested picture
 * kubelet → critap → containerd. That costs rewriting every request header block (see
 * src/wire/header-rewriter.ts), so it is a choice for a debugging session, not the default.
 *
 * This runs on the forwarding thread, when the request's headers pass; the span itself is built
 * later on the observer thread (src/telemetry/call-span.ts) with the same ids, read back from the
 * call's propagatedTraceparent, and the same sampler.
 */
import { SpanKind, trace } from '@opentelemetry/api';
import type { Header } from '../call.js';
import { spanName } from './call-attributes.js';
import { RECORD_AND_SAMPLED, type SpanSampler } from './samplers.js';
import { formatTraceparent, randomSpanId, randomTraceId } from './trace-ids.js';
import { parentContext } from './trace-parent.js';

export interface TracePropagation {
  /** The traceparent to send the runtime for a request with these headers (pseudo-headers included). */
  traceparentFor(method: string, metadata: readonly Header[]): string;
}

export class SpanContextPropagation implements TracePropagation {
  constructor(private readonly sampler: SpanSampler) {}

  traceparentFor(method: string, metadata: readonly Header[]): string {
    const parent = parentContext(metadata);
    const traceId = trace.getSpanContext(parent)?.traceId ?? randomTraceId();
    const { decision } = this.sampler.shouldSample(parent, traceId, spanName(method), SpanKind.SERVER, {}, []);
    return formatTraceparent(traceId, randomSpanId(), decision === RECORD_AND_SAMPLED);
  }
}
