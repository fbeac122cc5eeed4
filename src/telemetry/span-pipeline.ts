/**
 * The live span pipeline: finished spans (src/telemetry/call-span.ts) →
 * (counting) BatchSpanProcessor → (counting) OTLP/gRPC exporter.
 *
 * The batch processor's queue is what keeps a slow or absent collector away
 * from forwarding: ending a span only appends to a bounded array; exports run
 * later, one batch at a time, off the call path. What does not fit, or fails
 * to export, is lost — and counted, which the two wrappers below exist for
 * (the SDK only writes such losses to its diag log).
 */
import { cleanGrpcText } from '../grpc-text.js';
import type { Context } from '@opentelemetry/api';
import { TraceFlags } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import type { Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { VERSION } from '../version.js';
import type { DropCounter } from './drop-counter.js';
import { samplerFromEnv } from './sampler.js';
import { settleWithin } from './settle-within.js';
import { eventLimitFromEnv, type SpanSource } from './call-span.js';

/** Batch settings; each falls back to OTEL_BSP_* and then to the SDK's defaults (queue 2048, batch 512, 5 s). */
export interface SpanQueueOptions {
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  scheduledDelayMillis?: number;
  exportTimeoutMillis?: number;
}

/** Counts what the batch processor hands to the exporter, and what the exporter fails to deliver. */
class CountingExporter implements SpanExporter {
  handed = 0;
  /** Spans in exports that have not answered yet. */
  private unsettled = 0;
  private abandoned = false;
  constructor(
    private readonly inner: SpanExporter,
    private readonly drops: DropCounter,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.handed += spans.length;
    this.unsettled += spans.length;
    let settled = false;
    const settle = (result: ExportResult) => {
      if (settled) return;
      settled = true;
      this.unsettled -= spans.length;
      if (result.code !== ExportResultCode.SUCCESS && !this.abandoned) {
        this.drops.add(spans.length, `export failed: ${cleanGrpcText(result.error?.message ?? 'unknown error')}`);
      }
      done(result);
    };
    try {
      this.inner.export(spans, settle);
    } catch (err) {
      settle({ code: ExportResultCode.FAILED, error: err as Error });
    }
  }

  /** At shutdown: the spans still being exported are given up for lost (and counted once, here). */
  abandon(): number {
    this.abandoned = true;
    return this.unsettled;
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * Mirrors the batch processor's queue length (spans accepted minus spans handed
 * to the exporter) to count the spans it silently drops when the queue is full.
 */
class CountingProcessor implements SpanProcessor {
  private accepted = 0;
  constructor(
    private readonly inner: SpanProcessor,
    private readonly exporter: CountingExporter,
    private readonly maxQueueSize: number,
    private readonly drops: DropCounter,
  ) {}

  onStart(span: Span, parent: Context): void {
    this.inner.onStart(span, parent);
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) {
      if (this.queued >= this.maxQueueSize) {
        this.drops.add(1, 'span queue full (collector slow or unreachable)');
      } else {
        this.accepted++;
      }
    }
    this.inner.onEnd(span);
  }

  /** Spans waiting in the batch processor's queue. */
  get queued(): number {
    return this.accepted - this.exporter.handed;
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

export interface SpanPipeline {
  /** Resource, scope, sampler and limits of the spans this pipeline takes. */
  source: SpanSource;
  /** Queues a finished span for export (it never blocks: a full queue drops and counts). */
  emit(span: ReadableSpan): void;
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

function envNumber(name: string): number | undefined {
  const v = Number(process.env[name]);
  return process.env[name]?.trim() && Number.isFinite(v) && v > 0 ? v : undefined;
}

export function createSpanPipeline(opts: SpanPipelineOptions): SpanPipeline {
  const otlp = new OTLPTraceExporter(opts.endpoint ? { url: opts.endpoint } : {});
  const exporter = new CountingExporter(otlp as unknown as SpanExporter, opts.drops);
  const maxQueueSize = opts.queue?.maxQueueSize ?? envNumber('OTEL_BSP_MAX_QUEUE_SIZE') ?? 2048;
  const batch = new BatchSpanProcessor(exporter, { ...opts.queue, maxQueueSize });
  const processor = new CountingProcessor(batch, exporter, maxQueueSize, opts.drops);
  return {
    source: {
      resource: opts.resource,
      scope: { name: 'critap', version: VERSION },
      // From OTEL_TRACES_SAMPLER(_ARG); by default parent-based always-on, so a kubelet that
      // samples a trace out also takes critap's span out.
      sampler: samplerFromEnv(process.env, opts.warn),
      eventLimit: eventLimitFromEnv(),
    },
    emit: (span) => processor.onEnd(span),
    close: async () => {
      // A collector that is down must not hold critap's exit hostage: wait a bounded time.
      const done = await settleWithin(processor.shutdown(), opts.closeTimeoutMs ?? 5000);
      if (!done) opts.drops.add(processor.queued + exporter.abandon(), 'collector did not answer before shutdown');
    },
  };
}
