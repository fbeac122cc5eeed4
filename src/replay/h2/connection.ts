/**
 * One client connection of replay's gRPC server, on critap's own HTTP/2 wire code: reads frames,
 * keeps the client's HPACK table, applies its SETTINGS, answers PING, does flow control both
 * ways, and hands each complete request to the call handler. Everything written while one
 * socket read is handled leaves in one write.
 *
 * `:authority` is not checked at all, so old Go clients that send the socket path are served
 * like any other. A protocol error closes this connection only.
 */
import type net from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { Header } from '../../call.js';
import type { Logger } from '../../log.js';
import { FrameReader, FrameType, Flag, WireError, type FrameEvents } from '../../wire/frames.js';
import { MessageAssembler } from '../../wire/grpc-messages.js';
import { HpackDecoder, HpackError } from '../../wire/hpack.js';
import { DEFAULT_WINDOW, FlowError, grownWindow, MAX_WINDOW, ReceiveWindow } from './flow.js';
import { parseGrpcTimeout } from './grpc-wire.js';
import { OutBuffer } from './out-buffer.js';
import { applyPeerSettings, defaultPeerSettings, ErrorCode, serverSettingsParams, type ServerSettings } from './settings.js';
import { ServerStream, type ServerCall, type StreamHost } from './stream.js';

export type CallHandler = (call: ServerCall) => void;

export interface ConnectionOptions {
  settings: ServerSettings;
  /** Largest request message accepted; a bigger one is answered RESOURCE_EXHAUSTED unread. */
  maxRequestBytes: number;
  /** A client that has not sent its preface and SETTINGS by then is disconnected. */
  prefaceTimeoutMs: number;
  handler: CallHandler;
  logger: Logger;
}

const RESOURCE_EXHAUSTED = 8;
const INTERNAL = 13;
const UNIMPLEMENTED = 12;

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export class H2Connection implements StreamHost {
  readonly peer = defaultPeerSettings();
  readonly out = new OutBuffer();
  connectionWindow = DEFAULT_WINDOW;
  writable = true;
  private readonly streams = new Map<number, ServerStream>();
  /** Streams with DATA waiting for a window or for the socket. */
  private readonly waiting = new Set<ServerStream>();
  private readonly reader: FrameReader;
  private readonly decoder = new HpackDecoder();
  private readonly recvWindow: ReceiveWindow;
  private lastStreamId = 0;
  private prefaceSeen = false;
  private inRead = false;
  private flushQueued = false;
  /** GOAWAY sent (server closing) or received: no new streams; close once the last one ends. */
  private draining = false;
  private prefaceTimer: NodeJS.Timeout | undefined;
  private readonly flushTask = () => this.flush();

  constructor(
    private readonly socket: net.Socket,
    private readonly opts: ConnectionOptions,
  ) {
    this.reader = new FrameReader(this.events(), { preface: true, maxHeaderBlock: opts.settings.maxHeaderList });
    this.recvWindow = new ReceiveWindow(opts.settings.connectionWindow);
    // Server preface: our SETTINGS, then the connection window raised past the fixed 65 535.
    const params = serverSettingsParams(opts.settings);
    const payload = Buffer.allocUnsafe(params.length * 6);
    params.forEach(([id, v], i) => {
      payload.writeUInt16BE(id, i * 6);
      payload.writeUInt32BE(v, i * 6 + 2);
    });
    this.out.frame(FrameType.SETTINGS, 0, 0, payload);
    if (opts.settings.connectionWindow > DEFAULT_WINDOW) this.out.frame(FrameType.WINDOW_UPDATE, 0, 0, u32(opts.settings.connectionWindow - DEFAULT_WINDOW));
    this.flush();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.writable = true;
      this.pumpWaiting();
      this.flush();
    });
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => this.onClose());
    this.prefaceTimer = setTimeout(() => {
      opts.logger.warn('closing a connection that sent no HTTP/2 preface in time', { timeoutMs: opts.prefaceTimeoutMs });
      socket.destroy();
    }, opts.prefaceTimeoutMs);
  }

  /** Calls in progress. */
  get activeStreams(): number {
    return this.streams.size;
  }

  // ---- StreamHost ----

  wrote(): void {
    if (this.inRead || this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flushTask);
  }

  blocked(stream: ServerStream): void {
    this.waiting.add(stream);
  }

  forget(stream: ServerStream): void {
    this.streams.delete(stream.id);
    if (this.waiting.size > 0) this.waiting.delete(stream);
    if (this.draining && this.streams.size === 0) {
      this.wrote();
      queueMicrotask(() => this.socket.end());
    }
  }

  // ---- lifecycle ----

  /** Server closing: GOAWAY (calls in flight finish, new ones are refused); ends when idle. */
  shutdown(): void {
    if (this.draining || this.socket.destroyed) return;
    this.draining = true;
    this.goaway(ErrorCode.NO_ERROR, '');
    this.flush();
    if (this.streams.size === 0) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onClose(): void {
    clearTimeout(this.prefaceTimer);
    for (const s of [...this.streams.values()]) s.abort();
    this.streams.clear();
    this.waiting.clear();
  }

  private goaway(code: number, debug: string): void {
    const d = Buffer.from(debug, 'utf8');
    const payload = Buffer.allocUnsafe(8 + d.length);
    payload.writeUInt32BE(this.lastStreamId, 0);
    payload.writeUInt32BE(code, 4);
    d.copy(payload, 8);
    this.out.frame(FrameType.GOAWAY, 0, 0, payload);
  }

  /** A connection error: GOAWAY with the reason (when the peer speaks HTTP/2 at all), then close. */
  private fail(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.opts.logger.warn('closing a connection that sent bytes that are not valid HTTP/2 gRPC', { error: msg });
    if (this.prefaceSeen && !this.socket.destroyed) {
      const code = err instanceof FlowError ? err.code : err instanceof HpackError ? ErrorCode.COMPRESSION_ERROR : ErrorCode.PROTOCOL_ERROR;
      this.goaway(code, msg.slice(0, 200));
      this.flush();
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else {
      this.socket.destroy();
    }
    for (const s of [...this.streams.values()]) s.abort();
  }

  // ---- writing ----

  private flush(): void {
    this.flushQueued = false;
    if (this.out.length === 0) return;
    const chunks = this.out.take();
    if (this.socket.destroyed || !this.socket.writable) return;
    let ok = true;
    if (chunks.length === 1) ok = this.socket.write(chunks[0]!);
    else {
      this.socket.cork();
      for (const c of chunks) ok = this.socket.write(c);
      this.socket.uncork();
    }
    if (!ok) this.writable = false;
  }

  private pumpWaiting(): void {
    for (const s of this.waiting) {
      if (this.connectionWindow <= 0 || !this.writable) return;
      if (!s.pump()) this.waiting.delete(s);
    }
  }

  // ---- reading ----

  /** performance.now() of the socket read being handled, taken once for all its requests. */
  private readNow: number | undefined;

  private readTime(): number {
    return (this.readNow ??= performance.now());
  }

  private onData(chunk: Buffer): void {
    this.inRead = true;
    this.readNow = undefined;
    try {
      this.reader.push(chunk);
    } catch (err) {
      if (!(err instanceof WireError || err instanceof HpackError || err instanceof FlowError)) {
        this.opts.logger.error('replay server failed on a connection', { error: (err as Error).message });
      }
      this.fail(err);
    } finally {
      this.inRead = false;
    }
    this.flush();
  }

  private events(): FrameEvents {
    return {
      headers: (id, block, endStream) => this.onHeaders(id, block, endStream),
      data: (id, chunk) => {
        const s = this.streams.get(id);
        if (!s || s.remoteClosed || !s.readingBody) return;
        // Nearly every request is one uncompressed message in one DATA frame: taken as it is
        // (a slice of the socket's chunk, which is never reused), without an assembler.
        if (s.assembler === undefined && s.requests.length === 0 && chunk.length >= 5 && chunk[0] === 0 && chunk.readUInt32BE(1) === chunk.length - 5) {
          if (this.acceptsRequest(s, chunk.length - 5)) this.onRequestMessage(s, chunk.subarray(5), false);
          return;
        }
        (s.assembler ??= this.assemblerFor(s)).push(chunk);
      },
      dataEnd: (id, endStream, length) => this.onDataEnd(id, endStream, length),
      rstStream: (id) => this.streams.get(id)?.abort(),
      goaway: () => {
        // The client starts no new calls; those in flight finish, then the connection closes.
        this.draining = true;
        if (this.streams.size === 0) this.socket.end();
      },
      settings: (params) => {
        clearTimeout(this.prefaceTimer);
        this.prefaceSeen = true;
        const delta = applyPeerSettings(this.peer, params);
        if (delta !== 0) {
          for (const s of this.streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW) throw new FlowError('critap: SETTINGS_INITIAL_WINDOW_SIZE takes a stream window past 2^31-1', ErrorCode.FLOW_CONTROL_ERROR);
          }
        }
        this.out.frame(FrameType.SETTINGS, Flag.ACK, 0);
        if (delta > 0) this.pumpWaiting();
      },
      ping: (payload, ack) => {
        if (!ack) this.out.frame(FrameType.PING, Flag.ACK, 0, payload);
      },
      windowUpdate: (id, increment) => {
        if (id === 0) {
          this.connectionWindow = grownWindow(this.connectionWindow, increment, 'the connection');
          this.pumpWaiting();
          return;
        }
        const s = this.streams.get(id);
        if (!s) return; // a stream already over
        try {
          s.sendWindow = grownWindow(s.sendWindow, increment, `stream ${id}`);
        } catch (err) {
          s.reset((err as FlowError).code);
          return;
        }
        if (!s.pump()) this.waiting.delete(s);
      },
    };
  }

  private onHeaders(id: number, block: Buffer, endStream: boolean): void {
    // Decoded even when the stream is refused: the client's HPACK table must stay in step.
    const headers = this.decoder.decode(block);
    if (!this.prefaceSeen) throw new WireError('critap: HEADERS before the client SETTINGS');
    const existing = this.streams.get(id);
    if (existing) {
      // Trailers from the client (gRPC clients do not send any, but they would end the request).
      if (!endStream) throw new WireError(`critap: second header block on stream ${id} without END_STREAM`);
      this.requestEnd(existing);
      return;
    }
    if (id % 2 === 0) throw new WireError(`critap: client opened even stream ${id}`);
    if (id <= this.lastStreamId) return; // trailers of a stream already answered and forgotten
    this.lastStreamId = id;
    const s = new ServerStream(id, this, this.opts.settings.streamWindow);
    if (this.draining || this.streams.size >= this.opts.settings.maxConcurrentStreams) {
      s.reset(ErrorCode.REFUSED_STREAM);
      return;
    }
    const problem = this.readRequestHeaders(s, headers);
    this.streams.set(id, s);
    if (problem) {
      s.end({ code: problem.code, message: problem.message });
      return;
    }
    s.readingBody = true;
    if (endStream) this.requestEnd(s);
  }

  /** Reassembles a request split over DATA frames (or holding several messages). */
  private assemblerFor(s: ServerStream): MessageAssembler {
    return new MessageAssembler({ message: (body, _len, compressed) => this.onRequestMessage(s, body, compressed) }, true, Infinity, (length) => this.acceptsRequest(s, length));
  }

  /** A request message larger than the limit is answered RESOURCE_EXHAUSTED, unread. */
  private acceptsRequest(s: ServerStream, length: number): boolean {
    if (length <= this.opts.maxRequestBytes) return true;
    s.end({ code: RESOURCE_EXHAUSTED, message: `critap replay: request message of ${length} bytes is larger than the ${this.opts.maxRequestBytes} accepted` });
    return false;
  }

  /** Fills in the call from its headers; returns a gRPC error to answer instead, if any. */
  private readRequestHeaders(s: ServerStream, headers: Header[]): { code: number; message: string } | undefined {
    let method = '';
    let contentType = '';
    for (const h of headers) {
      const name = h[0];
      if (name.charCodeAt(0) === 58 /* ':' */) {
        if (name === ':path') s.path = h[1];
        else if (name === ':method') method = h[1];
        else if (name === ':authority') s.authority = h[1];
        continue;
      }
      if (name === 'content-type') contentType = h[1];
      else if (name === 'grpc-timeout') {
        const ms = parseGrpcTimeout(h[1]);
        if (ms !== undefined) s.deadline = this.readTime() + ms;
      } else if (name === 'grpc-encoding') s.encoding = h[1];
    }
    s.requestHeaders = headers;
    if (method !== 'POST') return { code: INTERNAL, message: `critap replay: gRPC calls are POST requests, got ${method || 'no :method'}` };
    if (s.path === '') return { code: UNIMPLEMENTED, message: 'critap replay: the call has no :path' };
    if (!contentType.startsWith('application/grpc')) return { code: INTERNAL, message: `critap replay: content-type "${contentType}" is not gRPC` };
    return undefined;
  }

  private onRequestMessage(s: ServerStream, body: Buffer | null, compressed: boolean): void {
    if (body === null || s.closed) return; // too large: answered already
    if (s.requests.length > 0) {
      s.end({ code: INTERNAL, message: `critap replay: ${s.path} takes one request message, the client sent more` });
      return;
    }
    if (!compressed) {
      s.requests.push(body);
      return;
    }
    const enc = s.encoding ?? 'identity';
    try {
      const limit = { maxOutputLength: this.opts.maxRequestBytes };
      if (enc === 'gzip') s.requests.push(gunzipSync(body, limit));
      else if (enc === 'deflate') s.requests.push(inflateSync(body, limit));
      else s.end({ code: UNIMPLEMENTED, message: `critap replay: request compressed with "${enc}", which replay does not support` });
    } catch (err) {
      s.end({ code: INTERNAL, message: `critap replay: cannot decompress the ${enc} request: ${(err as Error).message}` });
    }
  }

  private onDataEnd(id: number, endStream: boolean, length: number): void {
    const grant = this.recvWindow.consume(length);
    if (grant > 0) this.out.frame(FrameType.WINDOW_UPDATE, 0, 0, u32(grant));
    const s = this.streams.get(id);
    if (!s) {
      if (id > this.lastStreamId) throw new WireError(`critap: DATA on stream ${id}, which was never opened`);
      return; // a stream already answered or reset: only the connection window counts
    }
    if (s.remoteClosed) {
      s.reset(ErrorCode.STREAM_CLOSED);
      return;
    }
    let streamGrant: number;
    try {
      streamGrant = s.recvWindow.consume(length);
    } catch {
      s.reset(ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    if (endStream) this.requestEnd(s);
    else if (streamGrant > 0) this.out.frame(FrameType.WINDOW_UPDATE, 0, id, u32(streamGrant));
  }

  /** The request is complete: hand it to the handler (its errors become INTERNAL answers). */
  private requestEnd(s: ServerStream): void {
    s.remoteClosed = true;
    if (s.closed) return;
    if (s.assembler?.partial) {
      s.end({ code: INTERNAL, message: 'critap replay: the request ended inside a message' });
      return;
    }
    if (s.requests.length !== 1) {
      s.end({ code: INTERNAL, message: `critap replay: ${s.path} takes one request message, the client sent none` });
      return;
    }
    s.request = s.requests[0]!;
    s.assembler = undefined;
    s.readingBody = false;
    try {
      this.opts.handler(s);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.opts.logger.error('replay failed to answer a call', { method: s.path, error: msg });
      if (!s.closed) s.end({ code: INTERNAL, message: `critap replay: ${msg}` });
    }
  }
}
