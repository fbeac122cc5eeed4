/**
 * The meter provider behind CallMetrics: a Prometheus pull endpoint and, on
 * request, periodic OTLP/gRPC pushes of the same instruments.
 */
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { VERSION } from '../version.js';
import { CallMetrics } from './call-metrics.js';
import { settleWithin } from './settle-within.js';
import { serveMetrics, type MetricsServer } from './metrics-server.js';

export interface MetricsPipelineOptions {
  resource: Resource;
  /** Serve Prometheus text on this address (`127.0.0.1:9464`); undefined serves nothing. */
  listen?: string;
  /** Push OTLP metrics; `endpoint` undefined lets the exporter read OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT. */
  otlp?: { endpoint?: string };
  spansDropped: () => number;
}

export interface MetricsPipeline {
  metrics: CallMetrics;
  url?: string;
  close(): Promise<void>;
}

function exportIntervalMs(): number {
  const v = Number(process.env.OTEL_METRIC_EXPORT_INTERVAL);
  return Number.isFinite(v) && v > 0 ? v : 60_000;
}

export async function createMetricsPipeline(opts: MetricsPipelineOptions): Promise<MetricsPipeline> {
  const readers: MetricReader[] = [];
  let prometheus: PrometheusExporter | undefined;
  if (opts.listen !== undefined) {
    // Scope labels would repeat critap's own name on every series; target_info still carries the resource.
    prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
    readers.push(prometheus);
  }
  if (opts.otlp) {
    const exporter = new OTLPMetricExporter(opts.otlp.endpoint ? { url: opts.otlp.endpoint } : {});
    readers.push(new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: exportIntervalMs() }));
  }
  const provider = new MeterProvider({ resource: opts.resource, readers });
  const metrics = new CallMetrics(provider.getMeter('critap', VERSION), opts.spansDropped);
  let server: MetricsServer | undefined;
  if (prometheus && opts.listen !== undefined) {
    try {
      server = await serveMetrics(opts.listen, prometheus);
    } catch (err) {
      await provider.shutdown().catch(() => {});
      throw err;
    }
  }
  return {
    metrics,
    url: server?.url,
    close: async () => {
      await server?.close();
      // A last OTLP push; a collector that is gone must not fail shutdown.
      await settleWithin(provider.shutdown(), 5000);
    },
  };
}
