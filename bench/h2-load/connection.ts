/**
 * One HTTP/2 connection of the cheap load client. Calls go out as pre-encoded frames
 * (request-frames.ts), batched into one socket write per event-loop turn; answers are read with
 * the project's frame reader and HPACK decoder, just enough to count, time and check them:
 * stream id, `:status`, DATA bytes and messages, END_STREAM and grpc-status in the trailers.
 *
 * Flow control: we announce the largest windows and top the connection (and any long stream)
 * back up as answers are read, so the server never waits on us; our side honours the server's
 * windows and MAX_CONCURRENT_STREAMS by queueing calls until they allow more.
 */
import net from 'node:net';
import { netOptions, parseEndpoint } from '../../src/endpoint.js';
import { decodeGrpcMessage, frame } from '../../src/wire/frame-writer.js';
import { FrameReader, type FrameEvents } from '../../src/wire/frames.js';
import { Flag, FrameType } from '../../src/wire/h2.js';
import { HpackDecoder } from '../../src/wire/hpack.js';
import { CALL_TIMEOUT_S, DEFAULT_TABLE_SIZE, DEFAULT_WINDOW, CallTemplate, MAX_WINDOW, Setting, connectionPreface, windowUpdateFrame, type FramesTemplate } from './request-frames.js';

/** What one finished call brought back. */
export interface CallAnswer {
  messages: number;
  /** Message body bytes (5-byte gRPC prefixes not counted), as grpc-js reports them. */
  bytes: number;
  /** The first message's body, when the call asked to keep it. */
  firstBody?: Buffer;
}

export type CallDone = (err: Error | null, answer: CallAnswer | undefined) => void;

const STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

/** A failed call, worded like grpc-js's errors ("12 UNIMPLEMENTED: …") so both clients' reports read alike. */
export class CallError extends Error {
  constructor(
    readonly code: number,
    details: string,
  ) {
    super(`${code} ${STATUS_NAMES[code] ?? 'UNKNOWN'}: ${details}`);
  }
}

/** Top a window back up once this much of it is used: few WINDOW_UPDATEs, and the window never nears empty. */
const REPLENISH_AT = 16 * 1024 * 1024;
/** A call the server has not ended this long after its own timeout is failed here. */
const CLIENT_GIVE_UP_MS = (CALL_TIMEOUT_S + 10) * 1000;
const CANCEL = 0x8;
const READ_BUFFER = 256 * 1024;
const WRITE_BUFFER = 64 * 1024;

/**
 * One call's answer, parsed as it arrives: gRPC message prefixes read into plain numbers (no
 * buffer per call), bodies counted and skipped; only a call asked to keep its first message
 * copies it.
 */
class Stream {
  gotHeaders = false;
  messages = 0;
  bytes = 0;
  firstBody: Buffer | undefined;
  /** Received DATA not yet given back with a stream WINDOW_UPDATE. */
  unacked = 0;
  /** Prefix octets read of the message being read (0..5), its length so far, body octets left. */
  private prefixHave = 0;
  private length = 0;
  private left = 0;
  /** The first message's body while it is being copied. */
  private keeping: Buffer | undefined;

  constructor(
    readonly id: number,
    readonly done: CallDone,
    readonly startedMs: number,
    private keepFirst: boolean,
  ) {}

  /** A message was cut off when the stream ended. */
  get partial(): boolean {
    return this.prefixHave > 0 || this.left > 0;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.left === 0) {
        // Prefix: 1 octet compressed flag (ignored: we only count), 4 octets big-endian length.
        const b = chunk[pos++]!;
        if (this.prefixHave > 0) this.length = this.length * 256 + b;
        this.prefixHave++;
        if (this.prefixHave < 5) continue;
        this.prefixHave = 0;
        this.left = this.length;
        this.startBody();
        this.length = 0;
        if (this.left === 0) this.endBody();
        continue;
      }
      const take = Math.min(this.left, end - pos);
      if (this.keeping) chunk.copy(this.keeping, this.keeping.length - this.left, pos, pos + take);
      this.left -= take;
      pos += take;
      if (this.left === 0) this.endBody();
    }
  }

  private startBody(): void {
    this.bytes += this.left;
    if (this.keepFirst) {
      this.keepFirst = false;
      this.keeping = Buffer.allocUnsafe(this.left);
    }
  }

  private endBody(): void {
    if (this.keeping) {
      this.firstBody = this.keeping;
      this.keeping = undefined;
    }
    this.messages++;
  }
}

interface Waiting {
  template: CallTemplate;
  keepFirst: boolean;
  done: CallDone;
}

export class H2LoadConnection implements FrameEvents {
  private readonly reader = new FrameReader(this, { preface: false });
  private readonly hpack = new HpackDecoder();
  private readonly streams = new Map<number, Stream>();
  private nextId = 1;
  /** Calls waiting for a stream slot or send window. */
  private readonly waiting: Waiting[] = [];
  /** Frames and calls to write at the end of this event-loop turn. */
  private outFrames: Buffer[] = [];
  private outCalls: Array<{ template: CallTemplate; id: number }> = [];
  private flushScheduled = false;
  private sendWindow = DEFAULT_WINDOW;
  private peerStreamWindow = DEFAULT_WINDOW;
  private maxStreams = Number.POSITIVE_INFINITY;
  /** Received DATA not yet given back with a connection WINDOW_UPDATE. */
  private unacked = 0;
  /** The call template whose headers the server's HPACK table holds (added by this connection's first call). */
  private tableTemplate: CallTemplate | undefined;
  /** False once the server asked for a table smaller than the default: literals from then on. */
  private indexingAllowed = true;
  /** A table size update the next header block must start with (§4.2), after the server's smaller SETTINGS. */
  private pendingSizeUpdate: number | undefined;
  /** Set once the connection can take no new calls: why. */
  private dead: Error | undefined;
  /** The server sent GOAWAY: calls in flight may finish, new ones fail with this. */
  private goneAway: Error | undefined;
  private readonly sweeper: NodeJS.Timeout;

  /** Write buffers whose bytes the socket has written: reused, so a busy connection allocates none. */
  private readonly spareWriteBuffers: Buffer[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('error', (err) => this.fail(new CallError(14, `connection failed: ${err.message}`)));
    socket.on('close', () => this.fail(new CallError(14, 'connection closed by the server')));
    this.sweeper = setInterval(() => this.giveUpOnStale(), 5000);
    this.sweeper.unref();
  }

  /** Bytes from the server (a view into the socket's one read buffer: used at once, never kept). */
  private received(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(new CallError(13, `bad answer from the server: ${(err as Error).message}`));
      this.socket.destroy();
    }
  }

  /** Connects to a unix:// or tcp:// endpoint and sends the preface (the server's SETTINGS need not have arrived yet). */
  static connect(endpoint: string): Promise<H2LoadConnection> {
    let conn: H2LoadConnection | undefined;
    const early: Buffer[] = [];
    // One read buffer for the connection's life: reads allocate nothing. The frame reader copies
    // what it keeps (header blocks), DATA is counted in place.
    const socket = net.connect({
      ...netOptions(parseEndpoint(endpoint)),
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER),
        callback: (n: number, buf: Uint8Array) => {
          const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
          if (conn) conn.received(chunk);
          else early.push(Buffer.from(chunk));
          return true;
        },
      },
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        conn = new H2LoadConnection(socket);
        socket.write(connectionPreface());
        for (const b of early.splice(0)) conn.received(b);
        resolve(conn);
      });
    });
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /** Starts a call; `done` runs once, when the call ends either way. */
  call(template: CallTemplate, keepFirst: boolean, done: CallDone): void {
    if (this.dead || this.goneAway) {
      done(this.dead ?? this.goneAway!, undefined);
      return;
    }
    if (this.waiting.length > 0 || !this.canStart(template)) {
      this.waiting.push({ template, keepFirst, done });
      return;
    }
    this.start(template, keepFirst, done);
  }

  close(): void {
    clearInterval(this.sweeper);
    this.fail(new CallError(1, 'connection closed by the client'));
    this.socket.destroy();
  }

  private canStart(t: CallTemplate): boolean {
    return this.streams.size < this.maxStreams && t.dataLength <= this.sendWindow;
  }

  private start(template: CallTemplate, keepFirst: boolean, done: CallDone): void {
    if (template.dataLength > this.peerStreamWindow) {
      done(new CallError(8, `request of ${template.dataLength} bytes exceeds the server's stream window ${this.peerStreamWindow}`), undefined);
      return;
    }
    const id = this.nextId;
    if (id > MAX_WINDOW) {
      done(new CallError(8, 'stream ids used up on this connection'), undefined);
      return;
    }
    this.nextId += 2;
    this.sendWindow -= template.dataLength;
    this.streams.set(id, new Stream(id, done, performance.now(), keepFirst));
    this.outCalls.push({ template, id });
    this.scheduleFlush();
  }

  private startWaiting(): void {
    while (this.waiting.length > 0 && !this.dead && this.canStart(this.waiting[0]!.template)) {
      const w = this.waiting.shift()!;
      this.start(w.template, w.keepFirst, w.done);
    }
  }

  private send(f: Buffer): void {
    this.outFrames.push(f);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After this turn's callbacks and promise continuations: every call they start goes in one write.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.dead) return;
    let size = 0;
    for (const f of this.outFrames) size += f.length;
    // Encodings chosen in write order: the server decodes header blocks in the order they arrive.
    const calls = this.outCalls.map((c) => this.framesFor(c.template));
    for (const f of calls) size += f.length;
    if (size === 0) return;
    const whole = size <= WRITE_BUFFER ? (this.spareWriteBuffers.pop() ?? Buffer.allocUnsafe(WRITE_BUFFER)) : Buffer.allocUnsafe(size);
    const out = whole.subarray(0, size);
    let pos = 0;
    for (const f of this.outFrames) pos += f.copy(out, pos);
    for (let i = 0; i < calls.length; i++) pos = calls[i]!.writeInto(out, pos, this.outCalls[i]!.id);
    this.outFrames = [];
    this.outCalls = [];
    this.socket.write(out, () => {
      if (whole.length === WRITE_BUFFER) this.spareWriteBuffers.push(whole);
    });
  }

  private framesFor(t: CallTemplate): FramesTemplate {
    if (this.pendingSizeUpdate !== undefined) {
      const f = t.literalAfterSizeUpdate(this.pendingSizeUpdate);
      this.pendingSizeUpdate = undefined;
      return f;
    }
    if (this.tableTemplate === t) return t.indexed;
    if (this.tableTemplate === undefined && this.indexingAllowed && t.tableSize <= DEFAULT_TABLE_SIZE) {
      this.tableTemplate = t;
      return t.indexing;
    }
    return t.literal;
  }

  private end(id: number, err: Error | null): void {
    const s = this.streams.get(id);
    if (!s) return;
    this.streams.delete(id);
    if (err) s.done(err, undefined);
    else s.done(null, { messages: s.messages, bytes: s.bytes, firstBody: s.firstBody });
    this.startWaiting();
  }

  /** Ends every call with `err`; the connection takes no more. */
  private fail(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    clearInterval(this.sweeper);
    const calls = [...this.streams.values()].map((s) => s.done);
    this.streams.clear();
    const waiting = this.waiting.splice(0);
    for (const done of calls) done(err, undefined);
    for (const w of waiting) w.done(err, undefined);
  }

  private giveUpOnStale(): void {
    const limit = performance.now() - CLIENT_GIVE_UP_MS;
    for (const s of [...this.streams.values()]) {
      if (s.startedMs >= limit) continue;
      this.send(rstStreamFrame(s.id, CANCEL));
      this.end(s.id, new CallError(4, `no answer within ${CLIENT_GIVE_UP_MS} ms`));
    }
  }

  // --- FrameEvents: what the server sends ---

  headers(streamId: number, block: Buffer, endStream: boolean): void {
    // Decoded even for calls already given up on: the HPACK table must follow every block.
    const headers = this.hpack.decode(block);
    const s = this.streams.get(streamId);
    if (!s) return;
    let status: string | undefined;
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    for (const [name, value] of headers) {
      if (name === ':status') status = value;
      else if (name === 'grpc-status') grpcStatus = value;
      else if (name === 'grpc-message') grpcMessage = decodeGrpcMessage(value);
    }
    if (!s.gotHeaders) {
      s.gotHeaders = true;
      if (status !== '200') {
        this.send(rstStreamFrame(streamId, CANCEL));
        this.end(streamId, new CallError(status === undefined ? 13 : 14, `HTTP status ${status ?? 'missing'} in the answer's headers`));
        return;
      }
    }
    if (!endStream) return;
    if (s.partial) this.end(streamId, new CallError(13, 'stream ended inside a message'));
    else if (grpcStatus === undefined) this.end(streamId, new CallError(13, 'trailers without grpc-status'));
    else if (grpcStatus !== '0') this.end(streamId, new CallError(Number(grpcStatus), grpcMessage));
    else this.end(streamId, null);
  }

  data(streamId: number, chunk: Buffer): void {
    this.streams.get(streamId)?.push(chunk);
  }

  dataEnd(streamId: number, endStream: boolean, frameLength: number): void {
    this.unacked += frameLength;
    if (this.unacked >= REPLENISH_AT) {
      this.send(windowUpdateFrame(0, this.unacked));
      this.unacked = 0;
    }
    const s = this.streams.get(streamId);
    if (!s) return;
    if (endStream) {
      this.end(streamId, new CallError(13, 'stream ended without trailers'));
      return;
    }
    s.unacked += frameLength;
    if (s.unacked >= REPLENISH_AT) {
      this.send(windowUpdateFrame(streamId, s.unacked));
      s.unacked = 0;
    }
  }

  rstStream(streamId: number, errorCode: number): void {
    this.end(streamId, new CallError(errorCode === 0x7 ? 14 : 13, `stream reset by the server (HTTP/2 error ${errorCode})`));
  }

  goaway(lastStreamId: number, errorCode: number): void {
    const err = new CallError(14, `server sent GOAWAY (HTTP/2 error ${errorCode})`);
    for (const id of [...this.streams.keys()]) if (id > lastStreamId) this.end(id, err);
    // Streams up to lastStreamId may still finish; nothing new starts here.
    this.goneAway = err;
    const waiting = this.waiting.splice(0);
    for (const w of waiting) w.done(err, undefined);
  }

  settings(params: Array<[number, number]>): void {
    for (const [id, value] of params) {
      if (id === Setting.MAX_CONCURRENT_STREAMS) this.maxStreams = value;
      else if (id === Setting.INITIAL_WINDOW_SIZE) this.peerStreamWindow = value;
      else if (id === Setting.HEADER_TABLE_SIZE && value < DEFAULT_TABLE_SIZE && this.indexingAllowed) {
        // Blocks after our ACK (which goes out before any call in the same write) must fit the smaller table.
        this.indexingAllowed = false;
        this.tableTemplate = undefined;
        this.pendingSizeUpdate = value;
      }
    }
    this.send(frame(FrameType.SETTINGS, Flag.ACK, 0));
    this.startWaiting();
  }

  settingsAck(): void {}

  ping(payload: Buffer, ack: boolean): void {
    if (!ack) this.send(frame(FrameType.PING, Flag.ACK, 0, payload));
  }

  windowUpdate(streamId: number, increment: number): void {
    // Stream windows matter only for the request, which went out whole with its HEADERS.
    if (streamId !== 0) return;
    this.sendWindow += increment;
    this.startWaiting();
  }
}

function rstStreamFrame(streamId: number, code: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}
