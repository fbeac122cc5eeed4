/**
 * Replay's listener: accepts connections itself and hands grpc-js a Duplex per connection
 * (`createConnectionInjector`). Client→server bytes go through AuthorityFront (so old Go clients'
 * socket-path `:authority` is accepted); server→client bytes pass untouched. Bytes that are not
 * HTTP/2 close that one connection, never the listener.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { formatEndpoint, type Endpoint } from '../endpoint.js';
import type { Logger } from '../log.js';
import { boundEndpoint, listen, removeSocket } from '../proxy/listener.js';
import { AuthorityFront } from './authority-front.js';

/** One client connection as grpc-js sees it. */
function frontDuplex(socket: net.Socket, logger: Logger): Duplex {
  const front = new AuthorityFront({
    onRewrite: (from) => logger.debug('old-client :authority rewritten to localhost', { authority: from }),
  });
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (socket.destroyed) cb();
      else socket.write(chunk, () => cb());
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    let out: Buffer[];
    try {
      out = front.push(chunk);
    } catch (err) {
      logger.warn('closing a connection that sent bytes that are not HTTP/2 gRPC', { error: (err as Error).message });
      socket.destroy();
      duplex.destroy();
      return;
    }
    let more = true;
    for (const b of out) more = duplex.push(b) && more;
    if (!more) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', () => {}); // 'close' follows; grpc-js learns through the duplex
  socket.on('close', () => duplex.destroy());
  return duplex;
}

export interface Front {
  readonly endpoint: Endpoint;
  /** Stops accepting; calls in flight get `graceMs` to finish; then every connection closes. */
  close(graceMs: number): Promise<void>;
  connections(): number;
}

export async function startFront(server: grpc.Server, at: Endpoint, socketMode: number, logger: Logger): Promise<Front> {
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    injector.injectConnection(frontDuplex(socket, logger));
  });
  listener.on('error', (err) => logger.error('listener error', { error: err.message }));
  await listen(listener, at, socketMode);
  const bound = boundEndpoint(listener, at);
  let closing: Promise<void> | undefined;
  return {
    endpoint: bound,
    connections: () => sockets.size,
    close(graceMs) {
      closing ??= (async () => {
        const listenerClosed = new Promise<void>((resolve) => listener.close(() => resolve()));
        // GOAWAY to every client: calls in flight finish, new ones go elsewhere; after the
        // grace period grpc-js cancels what is left.
        injector.drain(graceMs);
        const deadline = Date.now() + graceMs + 1000;
        while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        for (const s of sockets) s.destroy();
        injector.destroy();
        await listenerClosed;
        await removeSocket(bound);
        logger.debug('replay listener closed', { endpoint: formatEndpoint(bound) });
      })();
      return closing;
    },
  };
}
