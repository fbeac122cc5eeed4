/**
 * A tiny OTLP/gRPC trace collector for tests: a real @grpc/grpc-js server on
 * loopback implementing opentelemetry.proto.collector.trace.v1.TraceService/Export,
 * decoding each request with protobufjs and keeping the spans in plain objects.
 * It can also answer with an error or answer late, to play a broken collector.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { OTLP_TRACE_PROTO_FILES } from './otlp-trace-proto.js';

export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export type AttrValue = string | number | boolean | bigint | AttrValue[] | { [k: string]: AttrValue } | Buffer | null;

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
}

let root: protobuf.Root | undefined;
function schema(): { request: protobuf.Type; response: protobuf.Type } {
  if (!root) {
    root = new protobuf.Root();
    for (const text of OTLP_TRACE_PROTO_FILES) protobuf.parse(text, root, { keepCase: true });
    root.resolveAll();
  }
  return {
    request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  };
}

type Obj = Record<string, any>;

function anyValue(v: Obj | undefined): AttrValue {
  if (!v) return null;
  if (v.string_value !== undefined) return v.string_value as string;
  if (v.bool_value !== undefined) return v.bool_value as boolean;
  if (v.int_value !== undefined) return Number(v.int_value);
  if (v.double_value !== undefined) return v.double_value as number;
  if (v.bytes_value !== undefined) return v.bytes_value as Buffer;
  if (v.array_value !== undefined) return ((v.array_value.values ?? []) as Obj[]).map(anyValue);
  if (v.kvlist_value !== undefined) return keyValues(v.kvlist_value.values);
  return null;
}

function keyValues(list: Obj[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[kv.key as string] = anyValue(kv.value as Obj | undefined);
  return out;
}

const hex = (b: Buffer | undefined) => (b ? Buffer.from(b).toString('hex') : '');

/** Decodes one ExportTraceServiceRequest into spans. */
export function decodeExportRequest(bytes: Buffer): ReceivedSpan[] {
  const { request } = schema();
  const msg = request.toObject(request.decode(bytes), { longs: String, bytes: Buffer, oneofs: false, defaults: false });
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
  /** Export requests seen (including those answered with an error). */
  requests: number;
  /** Answer every Export with this gRPC status code instead of OK (undefined: accept). */
  failWith: grpc.status | undefined;
  /** Answer each Export this many milliseconds late. */
  delayMs: number;
  /** Resolves once at least `n` spans arrived; rejects after `timeoutMs`. */
  waitForSpans(n: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const { response } = schema();
  const okBytes = Buffer.from(response.encode(response.create({})).finish());
  const server = new grpc.Server();
  const waiters = new Set<() => void>();
  const delayed = new Set<NodeJS.Timeout>();
  const receiver: OtlpReceiver = {
    url: '',
    port: 0,
    spans: [],
    requests: 0,
    failWith: undefined,
    delayMs: 0,
    waitForSpans(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (receiver.spans.length < n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(receiver.spans);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`otlp-receiver: ${receiver.spans.length} of ${n} spans arrived in ${timeoutMs} ms`));
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
  const identity = (b: Buffer) => b;
  const definition: grpc.ServiceDefinition = {
    Export: {
      path: EXPORT_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
  const exportHandler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    receiver.requests++;
    const answer = () => {
      if (receiver.failWith !== undefined) {
        callback({ code: receiver.failWith, details: 'otlp-receiver told to fail' });
        return;
      }
      try {
        receiver.spans.push(...decodeExportRequest(call.request));
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
  server.addService(definition, { Export: exportHandler });
  receiver.port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
  });
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  return receiver;
}
