/**
 * Client sockets that read into a buffer of critap's own, as the runtime's socket does with
 * `net.connect({ onread })`. A net.Server's sockets read through the Readable stream: a new
 * buffer per read, a push, a 'data' event and a nextTick to read more. At 64 calls in flight
 * that machinery was about a tenth of the forwarding thread's CPU in a profile.
 *
 * Node offers `onread` only through the Socket constructor, and a net.Server constructs its
 * sockets itself, in its listening handle's `onconnection(err, clientHandle)`. So the
 * listening handle's `onconnection` is replaced by one that does what Node 20's does (the
 * connection count, `socket.server`, the 'connection' event, the `net.server.socket`
 * diagnostics channel) but constructs the socket with `onread` as well: the public
 * constructor option, handled by Node itself from then on (pause and resume stop and start
 * the handle's reads, EOF and read errors end the socket as usual).
 *
 * Where the server or its handle does not look as expected (another Node, a server option
 * this does not copy such as maxConnections, noDelay or keepAlive), Node's own onconnection
 * runs and the socket reads through the Readable stream: `slotOf` then gives undefined and the
 * caller listens for 'data'. test/unit/proxy-accept-reads.test.ts pins this on the Node in use.
 */
import net from 'node:net';
import diagnostics from 'node:diagnostics_channel';

/** Where one client socket's reads go. */
export class ClientReadSlot {
  /** The buffer the next read goes into; the owner replaces it while a write still holds the last one. */
  buffer: Buffer;
  /** Gets each read: a view into the read's buffer, read into again after the call returns. */
  handler: (chunk: Buffer) => void;
  readonly onread: net.OnReadOpts;

  constructor(bytes: number, socket: () => net.Socket) {
    this.buffer = Buffer.allocUnsafeSlow(bytes);
    // Until the connection takes the slot, reads reach 'data' listeners as copies: no bytes are lost.
    this.handler = (chunk) => socket().emit('data', Buffer.from(chunk));
    this.onread = {
      buffer: () => this.buffer,
      callback: (n, buf) => {
        this.handler((buf as Buffer).subarray(0, n));
        return true; // pausing is the socket's pause(), from the owner's back-pressure
      },
    };
  }
}

type OnConnection = (this: unknown, err: number, clientHandle: object | undefined) => void;

/** The fields of Node 20's net.Server that its onconnection reads or writes. */
interface ServerFields {
  _handle: { onconnection?: OnConnection } | null;
  _connections: number;
  maxConnections?: number;
  allowHalfOpen: boolean;
  pauseOnConnect: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  highWaterMark?: number;
}

/** The server side of a socket, as Node's Socket._destroy uses it to count the connection closed. */
interface ServerSocketFields {
  server: net.Server | null;
  _server: net.Server | null;
}

const socketChannel = diagnostics.channel('net.server.socket');

export class ClientReadAcceptor {
  private readonly slots = new WeakMap<net.Socket, ClientReadSlot>();

  constructor(private readonly bufferBytes: number) {}

  /** The slot an accepted socket reads into, or undefined when it reads through 'data' events. */
  slotOf(socket: net.Socket): ClientReadSlot | undefined {
    return this.slots.get(socket);
  }

  /**
   * Makes `server` (listening) construct its sockets with `onread`. Returns false, changing
   * nothing, when the server does not look like the one this was written against.
   */
  install(server: net.Server): boolean {
    const s = server as unknown as ServerFields;
    const handle = s._handle;
    const original = handle?.onconnection;
    if (!handle || typeof original !== 'function' || original.length !== 2) return false;
    if (typeof s._connections !== 'number' || typeof s.allowHalfOpen !== 'boolean' || typeof s.pauseOnConnect !== 'boolean') return false;
    const slots = this.slots;
    const bytes = this.bufferBytes;
    handle.onconnection = function onconnection(this: unknown, err: number, clientHandle: object | undefined): void {
      // Node's own path for what this does not copy: errors, the connection limit, per-socket options.
      if (err || !clientHandle || s.maxConnections || s.noDelay || s.keepAlive) {
        original.call(this, err, clientHandle);
        return;
      }
      let socket: net.Socket | undefined;
      const slot = new ClientReadSlot(bytes, () => socket!);
      socket = new net.Socket({
        handle: clientHandle,
        allowHalfOpen: s.allowHalfOpen,
        pauseOnCreate: s.pauseOnConnect,
        readable: true,
        writable: true,
        readableHighWaterMark: s.highWaterMark,
        writableHighWaterMark: s.highWaterMark,
        onread: slot.onread,
      } as net.SocketConstructorOpts);
      slots.set(socket, slot);
      s._connections++;
      const fields = socket as unknown as ServerSocketFields;
      fields.server = server;
      fields._server = server;
      server.emit('connection', socket);
      if (socketChannel.hasSubscribers) socketChannel.publish({ socket });
    };
    return true;
  }
}
