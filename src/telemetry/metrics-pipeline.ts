/**
 * The meter provider behind CallMetrics: a Prometheus pull endpoint and, on
 * request, periodic OTLP/gRPC pushes of the same instruments.
 *
 * With neither, nothing could ever read a metric, so there is no pipeline at
 * all: no MeterProvider doing per-call work for nobody, and the SDK's metrics
 * packages and exporters are not even loaded (tracing alone is the common
 * case; they cost the observer thread memory and CPU per call). Each exporter
 * is loaded only when asked for.
 */
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
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
  /** Undefined when no reader was asked for: nothing to count for. */
  metrics?: CallMetrics;
  url?: string;
  close(): Promise<void>;
}

function exportIntervalMs(): number {
  const v = Number(process.env.OTEL_METRIC_EXPORT_INTERVAL);
  return Number.isFinite(v) && v > 0 ? v : 60_000;
}

export function metricsWanted(opts: Pick<MetricsPipelineOptions, 'listen' | 'otlp'>): boolean {
  return opts.listen !== undefined || opts.otlp !== undefined;
}

export async function createMetricsPipeline(opts: MetricsPipelineOptions): Promise<MetricsPipeline> {
  if (!metricsWanted(opts)) return { close: async () => {} };
  const { MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
  const readers: MetricReader[] = [];
  let prometheus: PrometheusExporter | undefined;
  if (opts.listen !== undefined) {
    const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
    // Scope labels would repeat critap's own name on every series; target_info still carries the resource.
    prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
    readers.push(prometheus);
  }
  if (opts.otlp) {
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-grpc');
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
