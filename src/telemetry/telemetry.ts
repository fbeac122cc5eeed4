/**
 * critap's live telemetry: a CallSink that turns every forwarded call into
 * metrics (when something can read them: --metrics-listen, --otlp-metrics) and
 * a span (when tracing is on).
 *
 * The proxy calls onCallStart/onCallEnd on its forwarding path, so both only
 * touch counters and append to a queue; decoding bodies, linking pods and
 * encoding spans happen on a later turn of the event loop, and exporting
 * happens in the span queue's batches. Nothing here throws into the proxy.
 */
import type { Attributes } from '@opentelemetry/api';
import type { CallRecord, CallSink, CallStart } from '../call.js';
import { lookupMethod } from '../cri/methods.js';
import { silentLogger, type Logger } from '../log.js';
import { upstreamAttributes } from './call-attributes.js';
import { idsOfCall } from './call-ids.js';
import { DropCounter } from './drop-counter.js';
import { createMetricsPipeline, type MetricsPipeline } from './metrics-pipeline.js';
import { PodLinker } from './pod-links.js';
import { serviceNameFrom, telemetryResource } from './resource.js';
import { createSpanPipeline, type SpanPipeline, type SpanQueueOptions } from './span-pipeline.js';

export interface TelemetryOptions {
  /** OTLP/gRPC collector (`http://127.0.0.1:4317`); else OTEL_EXPORTER_OTLP_(TRACES_|METRICS_)ENDPOINT. */
  otlpEndpoint?: string;
  /** Else OTEL_SERVICE_NAME, else 'critap'. */
  serviceName?: string;
  /** The runtime endpoint the proxy forwards to (`unix:///run/containerd/containerd.sock`): `server.address`. */
  upstream: string;
  /** Serve Prometheus `/metrics` here (`127.0.0.1:9464`; port 0 picks one). Undefined: no endpoint. */
  metricsListen?: string;
  /** Also push metrics over OTLP/gRPC (every OTEL_METRIC_EXPORT_INTERVAL ms, default 60 s). */
  otlpMetrics?: boolean;
  /** Export spans. Default: on when an OTLP endpoint is given here or in the environment. */
  tracing?: boolean;
  logger?: Logger;
  /** Span batch queue; falls back to OTEL_BSP_* and the SDK's defaults. */
  spanQueue?: SpanQueueOptions;
  /** How long close() waits for the collector to take the last spans (default 5000 ms). */
  closeTimeoutMs?: number;
}

export interface Telemetry extends CallSink {
  /** True only with tracing on: pod and container ids come from decoded bodies. */
  readonly needsBodies: boolean;
  readonly tracing: boolean;
  /** Where Prometheus scrapes, once listening (`http://127.0.0.1:9464/metrics`). */
  readonly metricsUrl?: string;
  /** Spans lost so far (queue full, export failed, collector gone at shutdown). */
  readonly spansDropped: number;
  onCallStart(call: CallStart): void;
  onCallEnd(call: CallRecord): void;
  /** The recorder reports calls it could not store. */
  recordDropped(n: number): void;
  /** Builds the spans still queued, exports them (bounded wait) and stops the metrics endpoint. */
  close(): Promise<void>;
}

/** Calls waiting for their span; beyond this a burst is shed (and counted) rather than held. */
const MAX_PENDING_SPANS = 8192;

function envEndpointSet(): boolean {
  return Boolean(process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

class LiveTelemetry implements Telemetry {
  readonly needsBodies: boolean;
  readonly tracing: boolean;
  readonly metricsUrl?: string;
  private readonly links = new PodLinker();
  private pending: CallRecord[] = [];
  private drainScheduled = false;
  private closed = false;

  constructor(
    private readonly upstream: Attributes,
    private readonly metrics: MetricsPipeline,
    private readonly spans: SpanPipeline | undefined,
    private readonly drops: DropCounter,
    private readonly logger: Logger,
  ) {
    this.tracing = spans !== undefined;
    this.needsBodies = this.tracing;
    this.metricsUrl = metrics.url;
  }

  get spansDropped(): number {
    return this.drops.total;
  }

  onCallStart(call: CallStart): void {
    if (this.closed) return;
    try {
      this.metrics.metrics?.callStarted(call.method);
    } catch (err) {
      this.logger.debug('critap: telemetry could not count a call start', { error: (err as Error).message });
    }
  }

  onCallEnd(call: CallRecord): void {
    if (this.closed) return;
    try {
      this.metrics.metrics?.callEnded(call);
    } catch (err) {
      this.logger.debug('critap: telemetry could not count a call', { error: (err as Error).message });
    }
    if (!this.spans) return;
    if (this.pending.length >= MAX_PENDING_SPANS) {
      this.drops.add(1, 'too many calls waiting for their span');
      return;
    }
    this.pending.push(call);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  recordDropped(n: number): void {
    try {
      this.metrics.metrics?.recordDropped(n);
    } catch {
      // a metrics failure must not reach the recorder
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.drain();
    this.closed = true;
    await Promise.all([this.spans?.close(), this.metrics.close()]);
    this.drops.flush();
  }

  private drain(): void {
    this.drainScheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (const call of batch) {
      try {
        const info = lookupMethod(call.method);
        const ids = this.links.link(idsOfCall(call, info));
        this.spans!.emit({
          call,
          ids,
          upstream: this.upstream,
          serverStreaming: info?.serverStreaming ?? call.responses.length > 1,
        });
      } catch (err) {
        this.drops.add(1, `span not built: ${(err as Error).message}`);
      }
    }
  }
}

export async function createTelemetry(opts: TelemetryOptions): Promise<Telemetry> {
  const logger = opts.logger ?? silentLogger;
  const upstream = upstreamAttributes(opts.upstream); // throws a critap: error for a bad endpoint
  const resource = telemetryResource(serviceNameFrom(opts.serviceName));
  const drops = new DropCounter(logger);
  const tracing = opts.tracing ?? Boolean(opts.otlpEndpoint || envEndpointSet());
  const metrics = await createMetricsPipeline({
    resource,
    listen: opts.metricsListen,
    otlp: opts.otlpMetrics ? { endpoint: opts.otlpEndpoint } : undefined,
    spansDropped: () => drops.total,
  });
  const spans = tracing
    ? createSpanPipeline({
        resource,
        endpoint: opts.otlpEndpoint,
        drops,
        queue: opts.spanQueue,
        closeTimeoutMs: opts.closeTimeoutMs,
        warn: (m) => logger.warn(m),
      })
    : undefined;
  if (metrics.url) logger.info('critap: serving metrics', { url: metrics.url });
  if (tracing) logger.info('critap: exporting spans over OTLP/gRPC', { endpoint: opts.otlpEndpoint ?? 'from OTEL_* environment' });
  return new LiveTelemetry(upstream, metrics, spans, drops, logger);
}
