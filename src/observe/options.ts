/** What to observe calls with: the recorder (--record) and telemetry (spans, metrics). */
export interface ObserverOptions {
  /** The runtime endpoint (for span attributes). */
  upstream: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  logJson?: boolean;
  record?: string;
  recordEnv?: boolean;
  recordMethods?: string[];
  recordExclude?: string[];
  redact?: string[];
  maxCalls?: number;
  maxBytes?: number;
  maxAgeMs?: number;
  otlpEndpoint?: string;
  tracing?: boolean;
  metricsListen?: string;
  otlpMetrics?: boolean;
}

export interface ObserverStats {
  /** Calls stored by the recorder, and calls it had to drop. */
  recorded?: number;
  recordDropped?: number;
  /** Spans lost (queue full, export failed). */
  spansDropped?: number;
  /** Calls the bridge to the observer thread could not hand over (the thread died). */
  handoffDropped?: number;
  /** The observer thread's OS thread id (Linux; the benchmark reads its CPU from /proc/<pid>/task/<tid>). */
  observerTid?: number;
}

export function wantsObservers(o: ObserverOptions): boolean {
  return Boolean(o.record || tracingWanted(o) || o.metricsListen || o.otlpMetrics);
}

export function tracingWanted(o: ObserverOptions): boolean {
  if (o.tracing !== undefined) return o.tracing;
  return Boolean(o.otlpEndpoint || process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] || process.env['OTEL_EXPORTER_OTLP_ENDPOINT']);
}
