/**
 * One gRPC call on replay's server: what the client asked (path, metadata, the request message,
 * its deadline) and how the handler answers (headers, messages, status). Answers respect
 * flow control: DATA waits for window, trailers wait for the DATA before them.
 */
import type { Header } from '../../call.js';
import { FrameType } from '../../wire/frames.js';
import type { MessageAssembler } from '../../wire/grpc-messages.js';
import { ReceiveWindow, sendable } from './flow.js';
import { encodeEnd, messagePrefix, responseHeaderBlock, type EncodedEnd, type GrpcStatus } from './grpc-wire.js';
import type { OutBuffer } from './out-buffer.js';
import { PendingData } from './pending-data.js';
import { ErrorCode, type PeerSettings } from './settings.js';

/** What a call handler sees and uses. */
export interface ServerCall {
  /** `/runtime.v1.RuntimeService/Version`. */
  readonly path: string;
  /** As the client sent it: old Go clients send the socket path, and that is fine. */
  readonly authority: string | undefined;
  /** Request headers other than pseudo-headers, as on the wire (`-bin` values base64). */
  readonly metadata: readonly Header[];
  /** The request message (decompressed when the client compressed it). */
  readonly request: Buffer;
  /** performance.now() time at which the client's grpc-timeout runs out; undefined without one. */
  readonly deadline: number | undefined;
  /** Aborted when the client resets the stream or the connection goes: stop timers then. */
  readonly signal: AbortSignal;
  /** True once the call is over: answered, reset by the client, or its connection gone. */
  readonly closed: boolean;
  /** Response headers (recorded ones, or a pre-encoded block from responseHeaderBlock). */
  sendHeaders(headers: readonly Header[] | Buffer): void;
  sendMessage(data: Buffer): void;
  end(status: GrpcStatus, trailers?: readonly Header[]): void;
  /** The same with the status pre-encoded (encodeEnd), for answers sent many times. */
  endEncoded(end: EncodedEnd): void;
  /** Ends the stream with RST_STREAM (an HTTP/2 error code) and no gRPC status. */
  reset(code: number): void;
}

/** What a stream needs from its connection. */
export interface StreamHost {
  readonly peer: PeerSettings;
  readonly out: OutBuffer;
  /** Connection send window, shared by every stream. */
  connectionWindow: number;
  /** False while the socket's write buffer is full: DATA then waits for 'drain'. */
  readonly writable: boolean;
  /** Something was added to `out`: flush it soon. */
  wrote(): void;
  /** The stream has DATA waiting for a window (or for the socket). */
  blocked(stream: ServerStream): void;
  /** The stream is over (answered or reset): forget it. */
  forget(stream: ServerStream): void;
}

const DEFAULT_HEADERS = responseHeaderBlock();
/** Every stream's request until it has one: Buffer.alloc(0) per stream showed in profiles. */
const NO_REQUEST = Buffer.alloc(0);

export class ServerStream implements ServerCall {
  path = '';
  authority: string | undefined;
  /** The request's header block as decoded; metadata is made from it when asked (rarely: a fallback). */
  requestHeaders: readonly Header[] = [];
  private metadataList: Header[] | undefined;
  request: Buffer = NO_REQUEST;
  deadline: number | undefined;
  /** Request messages received so far (CRI calls carry exactly one). */
  readonly requests: Buffer[] = [];
  /** The request body is being read (headers accepted, request not complete yet). */
  readingBody = false;
  /** Reassembles the request from DATA, made only when a request does not come whole in one DATA frame. */
  assembler: MessageAssembler | undefined;
  /** The request's grpc-encoding, for a compressed request message. */
  encoding: string | undefined;
  /** The client's request is complete (END_STREAM seen). */
  remoteClosed = false;
  /** Send window (peer's SETTINGS_INITIAL_WINDOW_SIZE plus its WINDOW_UPDATEs, minus DATA sent). */
  sendWindow: number;
  readonly recvWindow: ReceiveWindow;
  private headersSent = false;
  /** Trailers waiting for the DATA before them to go out. */
  private ending: Buffer | null = null;
  private finished = false;
  private ac: AbortController | undefined;
  /** DATA waiting for window; made only when a message cannot go out whole at once. */
  private pending: PendingData | undefined;

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
    recvWindow: number,
  ) {
    this.sendWindow = host.peer.initialWindow;
    this.recvWindow = new ReceiveWindow(recvWindow);
  }

  /** Request headers other than pseudo-headers, in order. */
  get metadata(): Header[] {
    return (this.metadataList ??= this.requestHeaders.filter((h) => h[0].charCodeAt(0) !== 58 /* ':' */));
  }

  // Created on first use: most calls are answered at once and never need one.
  get signal(): AbortSignal {
    return (this.ac ??= new AbortController()).signal;
  }

  get closed(): boolean {
    return this.finished;
  }

  /** The answer has started (headers or a status went out): no trailers-only any more. */
  get answering(): boolean {
    return this.headersSent;
  }

  sendHeaders(headers: readonly Header[] | Buffer): void {
    if (this.finished || this.headersSent) return;
    this.headersSent = true;
    this.host.out.headers(this.id, Buffer.isBuffer(headers) ? headers : responseHeaderBlock(headers), false, this.host.peer.maxFrame);
    this.host.wrote();
  }

  sendMessage(data: Buffer): void {
    if (this.finished || this.ending) return;
    if (!this.headersSent) this.sendHeaders(DEFAULT_HEADERS);
    const host = this.host;
    const framed = data.length + 5;
    // Nothing waiting, and the message fits both windows and one frame (nearly every answer):
    // framed straight into the connection's out buffer, the same bytes PendingData would make.
    if ((this.pending === undefined || this.pending.length === 0) && host.writable && framed <= this.sendWindow && framed <= host.connectionWindow && framed <= host.peer.maxFrame) {
      host.out.frameHeader(framed, FrameType.DATA, 0, this.id);
      host.out.grpcPrefix(data.length);
      host.out.bytes(data);
      this.sendWindow -= framed;
      host.connectionWindow -= framed;
      host.wrote();
      return;
    }
    const pending = (this.pending ??= new PendingData());
    pending.push(messagePrefix(data.length));
    pending.push(data);
    this.pump();
  }

  end(status: GrpcStatus, trailers: readonly Header[] = []): void {
    this.endEncoded(encodeEnd(status, trailers));
  }

  endEncoded(end: EncodedEnd): void {
    if (this.finished || this.ending) return;
    if (!this.headersSent) {
      this.headersSent = true;
      this.host.out.headers(this.id, end.trailersOnly, true, this.host.peer.maxFrame);
      this.done();
      return;
    }
    this.ending = end.trailers;
    this.pump();
  }

  /**
   * Sends what flow control allows; trailers once no DATA waits. Returns true while DATA is
   * still waiting (the connection calls again on WINDOW_UPDATE or socket 'drain').
   */
  pump(): boolean {
    if (this.finished) return false;
    const host = this.host;
    const pending = this.pending;
    if (pending !== undefined && pending.length > 0) {
      const n = host.writable ? sendable(this.sendWindow, host.connectionWindow, pending.length) : 0;
      if (n > 0) {
        pending.writeFrames(host.out, this.id, n, host.peer.maxFrame);
        this.sendWindow -= n;
        host.connectionWindow -= n;
        host.wrote();
      }
      if (pending.length > 0) {
        host.blocked(this);
        return true;
      }
    }
    if (this.ending) {
      host.out.headers(this.id, this.ending, true, host.peer.maxFrame);
      this.ending = null;
      this.done();
    }
    return false;
  }

  /** Our END_STREAM went out. A client still sending is told to stop (RST_STREAM NO_ERROR, §8.1). */
  private done(): void {
    this.finished = true;
    if (!this.remoteClosed) this.host.out.frame(FrameType.RST_STREAM, 0, this.id, rstPayload(ErrorCode.NO_ERROR));
    this.host.wrote();
    this.host.forget(this);
  }

  /** The client reset the stream, or the connection is gone: drop what waits, stop timers. */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    this.pending?.clear();
    this.ending = null;
    this.host.forget(this);
    this.ac?.abort();
  }

  /** Refuses or fails the stream at the HTTP/2 level (no gRPC status). */
  reset(code: number): void {
    if (this.finished) return;
    this.host.out.frame(FrameType.RST_STREAM, 0, this.id, rstPayload(code));
    this.host.wrote();
    this.abort();
  }
}

export function rstPayload(code: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(code, 0);
  return b;
}
