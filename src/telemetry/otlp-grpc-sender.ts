/**
 * Sends encoded span batches to the collector over OTLP/gRPC, with the OpenTelemetry exporter's
 * own transport.
 *
 * `@opentelemetry/exporter-trace-otlp-grpc`'s OTLPTraceExporter is three parts: the gRPC export
 * delegate of `@opentelemetry/otlp-grpc-exporter-base` (endpoint, headers, TLS or insecure,
 * compression and timeout from OTEL_EXPORTER_OTLP_(TRACES_)*, grpc-js, the partial-success log),
 * the SDK's span serializer from `@opentelemetry/otlp-transformer`, and the SDK exporter API
 * around them. critap keeps the first, through the same public functions the exporter calls
 * (createOtlpGrpcExportDelegate with convertLegacyOtlpGrpcOptions, so configuration is read
 * exactly as before), and replaces the serializer with its own encoder (otlp-span-encoder.ts):
 * the delegate takes any serializer, and critap's spans are already bytes when a batch goes.
 */
import { ExportResultCode } from '@opentelemetry/core';
import { convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate } from '@opentelemetry/otlp-grpc-exporter-base';
import { decodeExportResponse, encodeExportRequest, type ExportTraceResponse, type RequestFrame } from './otlp-span-encoder.js';
import type { SpanBatch } from './span-batch.js';
import type { SendBatch } from './span-queue.js';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
/** otel.component.type of the exporter's self-metrics, as OTLPTraceExporter names it. */
const COMPONENT_TYPE = 'otlp_grpc_span_exporter';

export interface OtlpGrpcSender {
  send: SendBatch;
  /** Waits for exports in flight, then closes the gRPC channel. */
  shutdown(): Promise<void>;
}

/** `endpoint` undefined: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, else the exporter's default. */
export function createOtlpGrpcSender(frame: RequestFrame, endpoint: string | undefined): OtlpGrpcSender {
  const delegate = createOtlpGrpcExportDelegate<SpanBatch, ExportTraceResponse>(
    convertLegacyOtlpGrpcOptions(endpoint ? { url: endpoint } : {}, 'TRACES'),
    {
      // Called within export(), before it returns: the batch is not read afterwards.
      serializeRequest: (batch) => encodeExportRequest(frame, batch.bytes),
      deserializeResponse: decodeExportResponse,
    },
    COMPONENT_TYPE,
    { name: 'span', countItems: (batch) => batch.count },
    undefined, // no meter provider: the delegate's self-metrics stay no-ops, as with the exporter
    'TraceExportService',
    EXPORT_PATH,
  );
  return {
    send: (batch, done) => delegate.export(batch, (result) => done(result.code === ExportResultCode.SUCCESS ? undefined : (result.error ?? new Error('export failed')))),
    shutdown: () => delegate.shutdown(),
  };
}
