/**
 * Sends a recording's calls to an OTLP/gRPC collector as spans, with their
 * original timestamps and the same attributes, parents and pod links as the
 * live sink gives them — so a recording from a slow node can be studied in
 * Tempo/Jaeger after the fact.
 *
 * Unlike the live pipeline nothing may be dropped here: spans go out in
 * batches and each batch is awaited, so a large recording is paced by the
 * collector instead of overflowing a queue, and a failed batch fails the export.
 */
import { cleanGrpcText } from '../grpc-text.js';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { AlwaysOnSampler, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { CallRecord } from '../call.js';
import { lookupMethod } from '../cri/methods.js';
import { VERSION } from '../version.js';
import { upstreamAttributes } from './call-attributes.js';
import { idsOfCall } from './call-ids.js';
import { buildCallSpan, eventLimitFromEnv, type SpanSource } from './call-span.js';
import { PodLinker, type PodIds } from './pod-links.js';
import { PodLifeTraces, type LifeCounts } from './pod-life-traces.js';
import { serviceNameFrom, telemetryResource } from './resource.js';

/** What the export needs of a recording call: a CallRecord, plus the ids the recorder found if it kept them. */
export type RecordedCall = CallRecord & { ids?: PodIds };

/** Any recording reader (src/record's reader fits). */
export interface RecordedCalls<C extends RecordedCall = RecordedCall> {
  calls(): AsyncIterable<C>;
}

export interface RecordingExportOptions<C extends RecordedCall = RecordedCall> {
  /** OTLP/gRPC collector, e.g. `http://127.0.0.1:4317`. */
  endpoint: string;
  /** Else OTEL_SERVICE_NAME, else 'critap'. */
  serviceName?: string;
  /** Only calls for which this returns true become spans. */
  filter?: (call: C) => boolean;
  /** The runtime the recording was made against, for `server.address` (when the caller knows it). */
  upstream?: string;
  /** Spans per OTLP request (default 512). */
  batchSize?: number;
  /**
   * 'call' (the default here): each call its own span, parented on the client's traceparent, as
   * the live proxy sends them. 'pod-life': one trace per pod life (pod-life-traces.ts).
   */
  shape?: 'call' | 'pod-life';
  /** The resource's host.name: the node recorded (a string), or left out (null). Default: this machine. */
  hostName?: string | null;
}

class ExportError extends Error {}

function exportBatch(exporter: SpanExporter, spans: ReadableSpan[], endpoint: string): Promise<void> {
  return new Promise((resolve, reject) => {
    exporter.export(spans, (result: ExportResult) => {
      if (result.code === ExportResultCode.SUCCESS) resolve();
      else reject(new ExportError(`critap: OTLP export to ${endpoint} failed: ${cleanGrpcText(result.error?.message ?? 'unknown error')}`));
    });
  });
}

export async function exportRecordingOtlp<C extends RecordedCall>(
  reader: RecordedCalls<C>,
  opts: RecordingExportOptions<C>,
): Promise<{ spans: number; lives?: LifeCounts }> {
  if (!opts.endpoint?.trim()) throw new ExportError('critap: OTLP export needs an endpoint, e.g. http://127.0.0.1:4317');
  const upstream = opts.upstream ? upstreamAttributes(opts.upstream) : {};
  const batchSize = opts.batchSize ?? 512;
  const source: SpanSource = {
    resource: telemetryResource(serviceNameFrom(opts.serviceName), opts.hostName),
    scope: { name: 'critap', version: VERSION },
    // Every recorded call is exported: sampling was for the live path, a recording is already a choice.
    sampler: new AlwaysOnSampler(),
    eventLimit: eventLimitFromEnv(),
  };
  const exporter = new OTLPTraceExporter({ url: opts.endpoint }) as unknown as SpanExporter;
  const links = new PodLinker();
  const lives = opts.shape === 'pod-life' ? new PodLifeTraces(source) : undefined;
  let sent = 0;
  let spans: ReadableSpan[] = [];
  const flush = async () => {
    const batch = spans;
    spans = [];
    if (batch.length === 0) return;
    await exportBatch(exporter, batch, opts.endpoint);
    sent += batch.length;
  };
  try {
    for await (const call of reader.calls()) {
      if (opts.filter && !opts.filter(call)) continue;
      const info = lookupMethod(call.method);
      // The recorder's ids are the same extraction; decode only when a recording lacks them.
      const found = call.ids && Object.keys(call.ids).length > 0 ? call.ids : idsOfCall(call, info);
      // A call recorded with --propagate-trace keeps the span id the runtime saw as its parent.
      const ids = links.link(found);
      const span = buildCallSpan(source, {
        call,
        ids,
        upstream,
        serverStreaming: info?.serverStreaming ?? call.responses.length > 1,
      });
      if (span) spans.push(...(lives ? lives.add(call, ids, span) : [span]));
      if (spans.length >= batchSize) await flush();
    }
    if (lives) spans.push(...lives.finish());
    await flush();
  } finally {
    await exporter.shutdown().catch(() => {});
  }
  return lives ? { spans: sent, lives: lives.counts } : { spans: sent };
}
