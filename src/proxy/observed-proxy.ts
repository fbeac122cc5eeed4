/**
 * A proxy with its observers: the recorder (--record) and telemetry (spans, metrics), built from
 * one options object. The CLI and the library's `proxy()` both start proxies through here, so
 * they cannot drift apart. By default the observers run on a thread of their own
 * (src/observe/thread.ts), off the forwarding event loop.
 */
import type { CallSink } from '../call.js';
import { formatEndpoint, parseEndpoint } from '../endpoint.js';
import { silentLogger, type Logger, type LogLevel } from '../log.js';
import { tracingWanted, wantsObservers, type ObserverOptions, type ObserverStats } from '../observe/options.js';
import { startObserverThread } from '../observe/thread.js';
import type { TracePropagation } from '../telemetry/propagation.js';
import { CaptureBudget, captureBudgetLimit, DEFAULT_CAPTURE_LIMIT } from './capture-budget.js';
import { startProxy, type RunningProxy } from './proxy.js';
import type { FaultSet } from '../fault/set.js';

export interface ObservedProxyOptions extends Omit<ObserverOptions, 'upstream' | 'logLevel' | 'logJson'> {
  listen: string;
  upstream: string;
  socketMode?: number;
  captureLimit?: number;
  captureBudget?: number;
  peerLookup?: boolean;
  logger?: Logger;
  /** Log settings for the observer thread (it has its own logger). */
  logLevel?: LogLevel;
  logJson?: boolean;
  /** Run the recorder and telemetry on their own thread (default true); false runs them inline. */
  observerThread?: boolean;
  /**
   * Send the runtime critap's span as the parent of its own (default false: the kubelet's
   * traceparent passes unchanged). Needs tracing on.
   */
  propagateTrace?: boolean;
  /** Fault rules (see src/fault/rule.ts); given at all, the proxy can take rules live (see startProxy). */
  faults?: readonly string[] | FaultSet;
}

export interface ObservedProxy extends RunningProxy {
  /** Spans are exported. */
  readonly tracing: boolean;
  /** Where Prometheus scrapes, when --metrics-listen was given. */
  readonly metricsUrl?: string;
  /** Recorded and dropped calls, lost spans. After close() these are final. */
  observerStats(): Promise<ObserverStats>;
}

export async function startObservedProxy(opts: ObservedProxyOptions): Promise<ObservedProxy> {
  const logger = opts.logger ?? silentLogger;
  // Validate endpoints before opening anything that would need cleaning up.
  const upstream = formatEndpoint(parseEndpoint(opts.upstream));
  parseEndpoint(opts.listen);
  if (opts.propagateTrace && !tracingWanted(opts)) {
    throw new Error(
      'critap: --propagate-trace needs tracing on (--otlp-endpoint or OTEL_EXPORTER_OTLP_ENDPOINT): ' +
        'without critap\'s spans exported, the runtime\'s spans would point at a parent no one has',
    );
  }
  const observerOpts: ObserverOptions = { ...opts, upstream };
  delete (observerOpts as { logger?: unknown }).logger;
  delete (observerOpts as { faults?: unknown }).faults;

  // One budget for the bodies, from capture until the observers are done with them (the
  // recorder: until written), whichever thread they are on.
  const budget = new CaptureBudget(captureBudgetLimit(opts.captureBudget, opts.captureLimit ?? DEFAULT_CAPTURE_LIMIT));
  let sink: CallSink | undefined;
  let tracing = false;
  let metricsUrl: string | undefined;
  let stats: () => Promise<ObserverStats> = async () => ({});
  let closeObservers = async () => {};
  if (wantsObservers(observerOpts)) {
    if (opts.observerThread === false) {
      // Loaded only here: the recorder and the OpenTelemetry SDK (with grpc-js for its exporter)
      // otherwise load on the observer thread alone, which keeps them out of the forwarding
      // thread's heap (idle RSS).
      const { createObservers } = await import('../observe/observers.js');
      const inline = await createObservers(observerOpts, logger, (bytes) => budget.give(bytes));
      sink = {
        needsBodies: inline.sinks.some((s) => s.needsBodies),
        releasesBudget: true,
        spoolsBodies: inline.spoolsBodies,
        onBodyPart: (id, part) => inline.onBodyPart(id, part),
        onBodyAbort: (id) => inline.onBodyAbort(id),
        onCallStart: (c) => {
          for (const s of inline.sinks) s.onCallStart?.(c);
        },
        onCallEnd: (c) => {
          // Every sink gets the call; the first failure is then thrown for the proxy to report.
          let failed: { err: unknown } | undefined;
          inline.onCallEnd(c, (err) => (failed ??= { err }));
          if (failed) throw failed.err;
        },
      };
      tracing = inline.tracing;
      metricsUrl = inline.metricsUrl;
      stats = async () => inline.stats();
      closeObservers = () => inline.close();
    } else {
      const thread = await startObserverThread(observerOpts, logger, budget);
      sink = thread;
      tracing = thread.tracing;
      metricsUrl = thread.metricsUrl;
      stats = () => thread.stats();
      closeObservers = () => thread.close();
    }
  }
  let proxy: RunningProxy;
  try {
    let propagation: TracePropagation | undefined;
    if (opts.propagateTrace) {
      const [{ SpanContextPropagation }, { samplerFromEnv }] = await Promise.all([import('../telemetry/propagation.js'), import('../telemetry/sampler.js')]);
      propagation = new SpanContextPropagation(samplerFromEnv(process.env, (m) => logger.warn(m)));
    }
    proxy = await startProxy({
      listen: opts.listen,
      upstream,
      sinks: sink ? [sink] : [],
      socketMode: opts.socketMode,
      captureLimit: opts.captureLimit,
      captureBudget: budget,
      peerLookup: opts.peerLookup,
      logger,
      propagation,
      faults: opts.faults,
    });
  } catch (err) {
    await closeObservers().catch(() => {});
    throw err;
  }
  let closing: Promise<void> | undefined;
  const observed: ObservedProxy = {
    endpoint: proxy.endpoint,
    upstream: proxy.upstream,
    stats: () => proxy.stats(),
    faults: proxy.faults,
    tracing,
    observerStats: stats,
    close(graceMs?: number) {
      // The proxy ends every call first (their records reach the observers), then they flush.
      closing ??= proxy.close(graceMs).then(() => closeObservers());
      return closing;
    },
  };
  if (metricsUrl) (observed as { metricsUrl?: string }).metricsUrl = metricsUrl;
  return observed;
}
