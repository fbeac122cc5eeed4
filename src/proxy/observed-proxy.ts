/**
 * A proxy with its observers: the recorder (--record) and telemetry (spans, metrics), built from
 * one options object. The CLI and the library's `proxy()` both start proxies through here, so
 * they cannot drift apart.
 */
import type { CallSink } from '../call.js';
import { formatEndpoint, parseEndpoint } from '../endpoint.js';
import { silentLogger, type Logger } from '../log.js';
import { openRecorder, type Recorder } from '../record/recorder.js';
import { createTelemetry, type Telemetry } from '../telemetry/telemetry.js';
import { startProxy, type RunningProxy } from './proxy.js';

export interface ObservedProxyOptions {
  listen: string;
  upstream: string;
  socketMode?: number;
  captureLimit?: number;
  captureBudget?: number;
  peerLookup?: boolean;
  logger?: Logger;
  /** Record every call into this recording folder (created when missing). */
  record?: string;
  /** Keep container env values in the recording (they are redacted by default). */
  recordEnv?: boolean;
  recordMethods?: string[];
  recordExclude?: string[];
  /** Extra field paths to redact, e.g. `runtime.v1.CreateContainerRequest:config.annotations`. */
  redact?: string[];
  maxCalls?: number;
  maxBytes?: number;
  maxAgeMs?: number;
  /** OTLP/gRPC collector for spans; the OTEL_EXPORTER_OTLP_* variables work too. */
  otlpEndpoint?: string;
  /** Force tracing on or off; by default it is on when a collector endpoint is known. */
  tracing?: boolean;
  /** Prometheus endpoint, e.g. `127.0.0.1:9464`. */
  metricsListen?: string;
  otlpMetrics?: boolean;
}

export interface ObservedProxy extends RunningProxy {
  readonly recorder?: Recorder;
  readonly telemetry?: Telemetry;
}

function tracingWanted(opts: ObservedProxyOptions): boolean {
  if (opts.tracing !== undefined) return opts.tracing;
  return Boolean(opts.otlpEndpoint || process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] || process.env['OTEL_EXPORTER_OTLP_ENDPOINT']);
}

export async function startObservedProxy(opts: ObservedProxyOptions): Promise<ObservedProxy> {
  const logger = opts.logger ?? silentLogger;
  // Validate endpoints before opening anything that would need cleaning up.
  const upstream = formatEndpoint(parseEndpoint(opts.upstream));
  parseEndpoint(opts.listen);
  const sinks: CallSink[] = [];
  let recorder: Recorder | undefined;
  let telemetry: Telemetry | undefined;
  const tracing = tracingWanted(opts);
  try {
    if (opts.record) {
      recorder = await openRecorder({
        dir: opts.record,
        keepEnv: opts.recordEnv,
        redactPaths: opts.redact,
        methods: opts.recordMethods,
        exclude: opts.recordExclude,
        maxCalls: opts.maxCalls,
        maxBytes: opts.maxBytes,
        maxAgeMs: opts.maxAgeMs,
        logger,
      });
      sinks.push(recorder);
    }
    if (tracing || opts.metricsListen || opts.otlpMetrics) {
      telemetry = await createTelemetry({
        upstream,
        otlpEndpoint: opts.otlpEndpoint,
        tracing,
        metricsListen: opts.metricsListen,
        otlpMetrics: opts.otlpMetrics,
        logger,
      });
      sinks.push(telemetry);
    }
    const proxy = await startProxy({
      listen: opts.listen,
      upstream,
      sinks,
      socketMode: opts.socketMode,
      captureLimit: opts.captureLimit,
      captureBudget: opts.captureBudget,
      peerLookup: opts.peerLookup,
      logger,
    });
    // Calls the recorder could not keep show up in the metrics too.
    let reportedDrops = 0;
    const dropTimer =
      recorder && telemetry
        ? setInterval(() => {
            const dropped = recorder!.stats().dropped;
            if (dropped > reportedDrops) telemetry!.recordDropped(dropped - reportedDrops);
            reportedDrops = dropped;
          }, 1000).unref()
        : undefined;
    return {
      ...proxy,
      endpoint: proxy.endpoint,
      upstream: proxy.upstream,
      recorder,
      telemetry,
      async close(graceMs?: number) {
        if (dropTimer) clearInterval(dropTimer);
        await proxy.close(graceMs);
      },
    };
  } catch (err) {
    await recorder?.close().catch(() => {});
    await telemetry?.close().catch(() => {});
    throw err;
  }
}
