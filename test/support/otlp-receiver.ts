/**
 * A tiny OTLP/gRPC collector for tests: a real @grpc/grpc-js server on loopback implementing
 * opentelemetry.proto.collector.trace.v1.TraceService/Export and
 * opentelemetry.proto.collector.metrics.v1.MetricsService/Export, decoding each request with
 * protobufjs (otlp-codec.ts) and keeping spans and metrics (otlp-metrics.ts) in plain objects.
 * It can also answer with an error or answer late, to play a broken collector.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeOtlp, encodeEmpty, keyValues, type AttrValue, type Obj } from './otlp-codec.js';
import { METRICS_EXPORT_PATH, METRICS_RESPONSE, decodeMetricsRequest, type ReceivedMetric } from './otlp-metrics.js';

export type { AttrValue } from './otlp-codec.js';
export type { ReceivedMetric } from './otlp-metrics.js';

export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const TRACE_REQUEST = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';
const TRACE_RESPONSE = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse';

export interface ReceivedEvent {
  name: string;
  timeNs: bigint;
  attributes: Record<string, AttrValue>;
}

export interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  /** 1 internal, 2 server, 3 client, … (OTLP SpanKind). */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttrValue>;
  events: ReceivedEvent[];
  status: { code: number; message: string };
  resource: Record<string, AttrValue>;
  scope: string;
  links: { traceId: string; spanId: string; attributes: Record<string, AttrValue> }[];
}

const hex = (b: Buffer | undefined) => (b ? Buffer.from(b).toString('hex') : '');

/** Decodes one ExportTraceServiceRequest into spans. */
export function decodeExportRequest(bytes: Buffer): ReceivedSpan[] {
  const msg = decodeOtlp(TRACE_REQUEST, bytes);
  const spans: ReceivedSpan[] = [];
  for (const rs of (msg.resource_spans ?? []) as Obj[]) {
    const resource = keyValues(rs.resource?.attributes);
    for (const ss of (rs.scope_spans ?? []) as Obj[]) {
      for (const s of (ss.spans ?? []) as Obj[]) {
        spans.push({
          name: s.name ?? '',
          traceId: hex(s.trace_id),
          spanId: hex(s.span_id),
          parentSpanId: hex(s.parent_span_id),
          traceState: s.trace_state ?? '',
          kind: s.kind ?? 0,
          startNs: BigInt(s.start_time_unix_nano ?? 0),
          endNs: BigInt(s.end_time_unix_nano ?? 0),
          attributes: keyValues(s.attributes),
          events: ((s.events ?? []) as Obj[]).map((e) => ({
            name: e.name ?? '',
            timeNs: BigInt(e.time_unix_nano ?? 0),
            attributes: keyValues(e.attributes),
          })),
          status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
          resource,
          scope: ss.scope?.name ?? '',
          links: ((s.links ?? []) as Obj[]).map((l) => ({ traceId: hex(l.trace_id), spanId: hex(l.span_id), attributes: keyValues(l.attributes) })),
        });
      }
    }
  }
  return spans;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`, the form OTLP/gRPC exporters take. */
  url: string;
  port: number;
  spans: ReceivedSpan[];
  /** Every metric of every metrics Export, in arrival order (see latestMetric). */
  metrics: ReceivedMetric[];
  /** Trace Export requests seen (including those answered with an error). */
  requests: number;
  /** Metrics Export requests seen (including those answered with an error). */
  metricRequests: number;
  /** Answer every Export (traces and metrics) with this gRPC status code instead of OK (undefined: accept). */
  failWith: grpc.status | undefined;
  /** Answer each Export this many milliseconds late. */
  delayMs: number;
  /** Resolves once at least `n` spans arrived; rejects after `timeoutMs`. */
  waitForSpans(n: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /**
   * Resolves with what `probe` returns once it returns something other than undefined, checked
   * now and after each accepted Export; rejects after `timeoutMs` with `what` and `probe`'s last error.
   */
  waitFor<T>(what: string, probe: () => T | undefined, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

const identity = (b: Buffer) => b;

function unaryMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const server = new grpc.Server();
  const waiters = new Set<() => void>();
  const delayed = new Set<NodeJS.Timeout>();
  let metricExports = 0;
  const receiver: OtlpReceiver = {
    url: '',
    port: 0,
    spans: [],
    metrics: [],
    requests: 0,
    metricRequests: 0,
    failWith: undefined,
    delayMs: 0,
    waitForSpans(n, timeoutMs = 10_000) {
      return receiver
        .waitFor(`${n} spans`, () => (receiver.spans.length >= n ? receiver.spans : undefined), timeoutMs)
        .catch(() => {
          throw new Error(`otlp-receiver: ${receiver.spans.length} of ${n} spans arrived in ${timeoutMs} ms`);
        });
    },
    waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000) {
      return new Promise<T>((resolve, reject) => {
        let lastError: unknown;
        const check = () => {
          let found: T | undefined;
          try {
            found = probe();
          } catch (err) {
            lastError = err;
            return;
          }
          if (found === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const why = lastError instanceof Error ? `: ${lastError.message}` : '';
          reject(new Error(`otlp-receiver: no ${what} within ${timeoutMs} ms${why}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise((resolve) => {
        for (const timer of delayed) clearTimeout(timer);
        server.tryShutdown(() => resolve());
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };

  /** One Export method: counts the request, then (after delayMs) fails as told, or keeps what `take` decodes. */
  const exportHandler = (count: () => void, take: (bytes: Buffer) => void, okBytes: Buffer): grpc.handleUnaryCall<Buffer, Buffer> => {
    return (call, callback) => {
      count();
      const answer = () => {
        if (receiver.failWith !== undefined) {
          callback({ code: receiver.failWith, details: 'otlp-receiver told to fail' });
          return;
        }
        try {
          take(call.request);
        } catch (err) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
          return;
        }
        callback(null, okBytes);
        for (const w of [...waiters]) w();
      };
      if (receiver.delayMs > 0) {
        const timer = setTimeout(() => {
          delayed.delete(timer);
          answer();
        }, receiver.delayMs);
        delayed.add(timer);
      } else {
        answer();
      }
    };
  };
  server.addService(
    { Export: unaryMethod(EXPORT_PATH) },
    {
      Export: exportHandler(
        () => receiver.requests++,
        (bytes) => receiver.spans.push(...decodeExportRequest(bytes)),
        encodeEmpty(TRACE_RESPONSE),
      ),
    },
  );
  server.addService(
    { Export: unaryMethod(METRICS_EXPORT_PATH) },
    {
      Export: exportHandler(
        () => receiver.metricRequests++,
        (bytes) => receiver.metrics.push(...decodeMetricsRequest(bytes, metricExports++)),
        encodeEmpty(METRICS_RESPONSE),
      ),
    },
  );
  receiver.port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  return receiver;
}
