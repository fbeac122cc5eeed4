/**
 * A fake runtime for integration tests: a real @grpc/grpc-js server on a unix socket whose
 * methods, registered by path, see and return raw protobuf bytes. Any path can be served, so
 * tests can use CRI methods, unknown "future" methods, or errors of any shape.
 */
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { tempDir } from './temp-dirs.js';

const identity = (b: Buffer) => b;

export type UnaryHandler = grpc.handleUnaryCall<Buffer, Buffer>;
export type StreamHandler = grpc.handleServerStreamingCall<Buffer, Buffer>;

export interface FakeUpstream {
  endpoint: string;
  socketPath: string;
  server: grpc.Server;
  close(): Promise<void>;
}

export interface FakeUpstreamOptions {
  unary?: Record<string, UnaryHandler>;
  stream?: Record<string, StreamHandler>;
  socketPath?: string;
  /** Listen on tcp://127.0.0.1:<free port> instead of a unix socket (socketPath is then ''). */
  tcp?: boolean;
  options?: grpc.ServerOptions;
}

export function tempSocketPath(name = 'sock'): string {
  return join(tempDir('critap-test-'), `${name}.sock`);
}

export async function startFakeUpstream(opts: FakeUpstreamOptions): Promise<FakeUpstream> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    ...opts.options,
  });
  for (const [path, h] of Object.entries(opts.unary ?? {})) server.register(path, h, identity, identity, 'unary');
  for (const [path, h] of Object.entries(opts.stream ?? {})) server.register(path, h, identity, identity, 'serverStream');
  const socketPath = opts.tcp ? '' : (opts.socketPath ?? tempSocketPath('upstream'));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(opts.tcp ? '127.0.0.1:0' : `unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    endpoint: opts.tcp ? `tcp://127.0.0.1:${port}` : `unix://${socketPath}`,
    socketPath,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 500).unref();
      }),
  };
}

/** A grpc-js client that sends and receives raw bytes on any path (critap's tcp://h:p is grpc-js's h:p). */
export function rawClient(endpoint: string, options: grpc.ClientOptions = {}): grpc.Client {
  return new grpc.Client(endpoint.replace(/^tcp:\/\//, ''), grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    ...options,
  });
}

export interface UnaryResult {
  error?: grpc.ServiceError;
  response?: Buffer;
  headers?: grpc.Metadata;
  status?: grpc.StatusObject;
}

export function unaryCall(
  client: grpc.Client,
  path: string,
  request: Buffer,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<UnaryResult> {
  return new Promise((resolve) => {
    const result: UnaryResult = {};
    const call = client.makeUnaryRequest(path, identity, identity, request, metadata, options, (error, response) => {
      if (error) result.error = error;
      if (response) result.response = response;
    });
    call.on('metadata', (md) => (result.headers = md));
    call.on('status', (st) => {
      result.status = st;
      // The callback has run by the time 'status' fires.
      setImmediate(() => resolve(result));
    });
  });
}

export function streamCall(client: grpc.Client, path: string, request: Buffer, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}) {
  return client.makeServerStreamRequest(path, identity, identity, request, metadata, options);
}
