/**
 * Replay's gRPC server: a listener (unix socket or loopback TCP, with the proxy's socket rules)
 * whose connections are served by H2Connection. No grpc-js on this path: one connection's
 * answers leave in one socket write, which is where replay's speed comes from.
 */
import net from 'node:net';
import { formatEndpoint, type Endpoint } from '../../endpoint.js';
import type { Logger } from '../../log.js';
import { boundEndpoint, listen, removeSocket } from '../../proxy/listener.js';
import { H2Connection, type CallHandler } from './connection.js';
import { DEFAULT_SERVER_SETTINGS, type ServerSettings } from './settings.js';

export type { CallHandler } from './connection.js';
export type { ServerCall } from './stream.js';
export type { GrpcStatus, EncodedEnd } from './grpc-wire.js';
export { encodeEnd, responseHeaderBlock } from './grpc-wire.js';

export interface GrpcServerOptions {
  listen: Endpoint;
  handler: CallHandler;
  logger: Logger;
  /** File mode of a unix socket (default 0o660). */
  socketMode?: number;
  settings?: Partial<ServerSettings>;
  /** Largest request message accepted (default 16 MiB, containerd's own limit). */
  maxRequestBytes?: number;
  /** How long a new connection may take to send its preface (default 10 s). */
  prefaceTimeoutMs?: number;
}

export interface GrpcServer {
  readonly endpoint: Endpoint;
  /** Open client connections. */
  connections(): number;
  /**
   * Stops accepting; every connection gets GOAWAY, so calls in flight finish and new ones go
   * elsewhere; after `graceMs` what is left is cut off. Idempotent.
   */
  close(graceMs: number): Promise<void>;
}

export const DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024;

export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const settings: ServerSettings = { ...DEFAULT_SERVER_SETTINGS, ...opts.settings };
  const connOpts = {
    settings,
    maxRequestBytes: opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    prefaceTimeoutMs: opts.prefaceTimeoutMs ?? 10_000,
    handler: opts.handler,
    logger: opts.logger,
  };
  const conns = new Set<H2Connection>();
  const listener = net.createServer((socket) => {
    if (opts.listen.kind === 'tcp') socket.setNoDelay(true);
    const c = new H2Connection(socket, connOpts);
    conns.add(c);
    socket.on('close', () => conns.delete(c));
  });
  listener.on('error', (err) => opts.logger.error('listener error', { error: err.message }));
  await listen(listener, opts.listen, opts.socketMode ?? 0o660);
  const bound = boundEndpoint(listener, opts.listen);
  let closing: Promise<void> | undefined;
  return {
    endpoint: bound,
    connections: () => conns.size,
    close(graceMs) {
      closing ??= (async () => {
        const listenerClosed = new Promise<void>((resolve) => listener.close(() => resolve()));
        for (const c of conns) c.shutdown();
        const deadline = Date.now() + graceMs;
        while (conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        for (const c of conns) c.destroy();
        await listenerClosed;
        await removeSocket(bound);
        opts.logger.debug('replay listener closed', { endpoint: formatEndpoint(bound) });
      })();
      return closing;
    },
  };
}
