/**
 * The live span pipeline: a finished call → OTLP bytes (live-span-encoder.ts, the same bytes as
 * call-span.ts's facts through otlp-span-encoder.ts) → bounded batch queue (span-queue.ts) → OTLP/gRPC (otlp-grpc-sender.ts).
 *
 * This replaces the SDK's ReadableSpan → BatchSpanProcessor → OTLPTraceExporter chain on the live
 * path: on the observer thread its serializer, processor and exporter wrappers were about a
 * third of the CPU a traced call cost, and its queue held span objects. The gRPC transport and
 * its configuration are still the exporter's own (see otlp-grpc-sender.ts). The queue is what
 * keeps a slow or absent collector away from forwarding: adding a span only appends to a
 * bounded array; exports run later, one batch at a time, off the call path. What does not fit,
 * or fails to export, is lost — and counted.
 *
 * Recording export (export-recording.ts) keeps the SDK's span objects and exporter.
 */
import type { Resource } from '@opentelemetry/resources';
import { VERSION } from '../version.js';
import type { DropCounter } from './drop-counter.js';
import { eventLimitFromEnv, type SpanInput, type SpanSource } from './call-span.js';
import { LiveSpanEncoder } from './live-span-encoder.js';
import { requestFrame } from './otlp-span-encoder.js';
import { createOtlpGrpcSender } from './otlp-grpc-sender.js';
import { ProtoWriter } from './proto-writer.js';
import { samplerFromEnv } from './sampler.js';
import { settleWithin } from './settle-within.js';
import { SpanQueue, type SpanQueueOptions } from './span-queue.js';

export type { SpanQueueOptions } from './span-queue.js';

export interface SpanPipeline {
  /** Resource, scope, sampler and limits of the spans this pipeline takes. */
  source: SpanSource;
  /** Builds the call's span and queues it for export, unless the sampler leaves it out (false). A full queue drops and counts. */
  emit(input: SpanInput): boolean;
  /** Exports what is queued and stops; never rejects (a dead collector must not fail shutdown). */
  close(): Promise<void>;
}

export interface SpanPipelineOptions {
  resource: Resource;
  /** OTLP/gRPC endpoint; undefined lets the exporter read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT. */
  endpoint?: string;
  drops: DropCounter;
  queue?: SpanQueueOptions;
  /** How long close() waits for the last export (default 5 s). */
  closeTimeoutMs?: number;
  /** Hears about a bad OTEL_TRACES_SAMPLER(_ARG). */
  warn?: (message: string) => void;
}

export function createSpanPipeline(opts: SpanPipelineOptions): SpanPipeline {
  const source: SpanSource = {
    resource: opts.resource,
    scope: { name: 'critap', version: VERSION },
    // From OTEL_TRACES_SAMPLER(_ARG); by default parent-based always-on, so a kubelet that
    // samples a trace out also takes critap's span out.
    sampler: samplerFromEnv(process.env, opts.warn),
    eventLimit: eventLimitFromEnv(),
  };
  const sender = createOtlpGrpcSender(requestFrame(source.resource, source.scope), opts.endpoint);
  const queue = new SpanQueue(sender.send, opts.drops, opts.queue);
  // Scratch space for encoding, reused span after span.
  const writer = new ProtoWriter();
  const encoder = new LiveSpanEncoder(source);
  return {
    source,
    emit: (input) => {
      if (!encoder.encodeInto(writer, input)) return false;
      queue.add(writer.buf, writer.pos);
      return true;
    },
    close: async () => {
      // A collector that is down must not hold critap's exit hostage: wait a bounded time.
      const started = Date.now();
      const timeoutMs = opts.closeTimeoutMs ?? 5000;
      await queue.close(timeoutMs);
      // The channel closes once nothing is in flight; a stuck export must not hold close() either.
      await settleWithin(sender.shutdown(), Math.max(0, timeoutMs - (Date.now() - started)));
    },
  };
}
