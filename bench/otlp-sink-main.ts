/**
 * Child process: an OTLP/gRPC trace receiver for the "+ tracing" variant. A running receiver is
 * more honest than a port nobody listens on (the exporter then really serialises and sends every
 * batch); it answers OK without decoding, so it takes as little CPU as possible from the
 * processes being measured. It counts requests and bytes so the report can show spans flowed.
 */
import * as grpc from '@grpc/grpc-js';
import { childArgs, failChild, onParentMessage, tell } from './children.js';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const identity = (b: Buffer) => b;
/** An empty ExportTraceServiceResponse is zero bytes of protobuf. */
const OK = Buffer.alloc(0);

async function main(): Promise<void> {
  childArgs<Record<string, never>>();
  let requests = 0;
  let bytes = 0;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': -1 });
  server.register(
    EXPORT_PATH,
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      requests++;
      bytes += call.request.length;
      cb(null, OK);
    },
    identity,
    identity,
    'unary',
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  onParentMessage((msg) => {
    if (msg.type === 'counts') tell({ type: 'counts', requests, bytes });
    if (msg.type !== 'stop') return;
    server.forceShutdown();
    tell({ type: 'stopped', requests, bytes });
    setTimeout(() => process.exit(0), 20);
  });
  tell({ type: 'ready', url: `http://127.0.0.1:${port}` });
}

main().catch(failChild);
