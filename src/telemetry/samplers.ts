/**
 * The span samplers the specification names for OTEL_TRACES_SAMPLER (sampler.ts builds them):
 * always on, always off, trace id ratio, and parent-based around any of them. They decide
 * exactly as the SDK's samplers of the same names do (a test compares them decision by decision),
 * and they satisfy the same interface, so an SDK sampler can stand in for one (recording export
 * uses the SDK's AlwaysOnSampler).
 *
 * critap has its own because these few lines were the only reason the observer thread and, with
 * --propagate-trace, the forwarding thread loaded @opentelemetry/sdk-trace-base, which loads
 * the whole tracing SDK (tracer provider, processors, exporters: about 1 MB of each thread's
 * memory) for them.
 */
import { TraceFlags, isSpanContextValid, isValidTraceId, trace, type Attributes, type Context, type Link, type SpanKind, type TraceState } from '@opentelemetry/api';

/** The SDK's SamplingDecision values: a span that is not recorded, recorded only, or recorded and exported. */
export const NOT_RECORD = 0;
export const RECORD_AND_SAMPLED = 2;

export interface SpanSamplingResult {
  decision: number;
  attributes?: Attributes;
  traceState?: TraceState;
}

/** The SDK's Sampler interface, as critap calls it. */
export interface SpanSampler {
  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SpanSamplingResult;
  toString(): string;
}

const SAMPLED: SpanSamplingResult = Object.freeze({ decision: RECORD_AND_SAMPLED });
const DROPPED: SpanSamplingResult = Object.freeze({ decision: NOT_RECORD });

export class AlwaysOn implements SpanSampler {
  shouldSample(): SpanSamplingResult {
    return SAMPLED;
  }
  toString(): string {
    return 'AlwaysOnSampler';
  }
}

export class AlwaysOff implements SpanSampler {
  shouldSample(): SpanSamplingResult {
    return DROPPED;
  }
  toString(): string {
    return 'AlwaysOffSampler';
  }
}

/**
 * Samples a share of traces by their id: the four 32-bit words of the trace id XORed together,
 * below ratio × 2^32 − 1. The same trace id gets the same decision wherever it is made.
 */
export class TraceIdRatio implements SpanSampler {
  private readonly ratio: number;
  private readonly upperBound: number;

  constructor(ratio: number) {
    this.ratio = Number.isNaN(ratio) ? 0 : Math.min(1, Math.max(0, ratio));
    this.upperBound = this.ratio === 1 ? 0x1_0000_0000 : Math.floor(this.ratio * 0xffffffff);
  }

  shouldSample(_context: Context, traceId: string): SpanSamplingResult {
    return isValidTraceId(traceId) && accumulate(traceId) < this.upperBound ? SAMPLED : DROPPED;
  }

  toString(): string {
    return `TraceIdRatioBased{${this.ratio}}`;
  }
}

function accumulate(traceId: string): number {
  let acc = 0;
  for (let i = 0; i < 32; i += 8) acc = (acc ^ Number.parseInt(traceId.slice(i, i + 8), 16)) >>> 0;
  return acc;
}

/**
 * Follows the parent's sampled flag when there is a valid parent (remote or local, the SDK's
 * defaults: sampled parent → on, unsampled → off), else asks the root sampler.
 */
export class ParentBased implements SpanSampler {
  /** `root` decides where there is no valid parent. */
  constructor(readonly root: SpanSampler) {}

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SpanSamplingResult {
    const parent = trace.getSpanContext(context);
    if (!parent || !isSpanContextValid(parent)) return this.root.shouldSample(context, traceId, spanName, spanKind, attributes, links);
    return parent.traceFlags & TraceFlags.SAMPLED ? SAMPLED : DROPPED;
  }

  toString(): string {
    return `ParentBased{root=${this.root.toString()}, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}`;
  }
}
