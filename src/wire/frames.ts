/**
 * Incremental HTTP/2 frame reader (RFC 9113 §4) for one direction of a connection.
 *
 * The proxy forwards bytes untouched and feeds a copy of them here to *observe* the frames.
 * DATA payloads are handed out as slices as they arrive (a 16 MiB frame is never buffered
 * here); every other frame is small and is delivered whole. Header blocks are joined across
 * CONTINUATION frames before delivery.
 *
 * A payload that lies wholly inside the chunk being read is handed out as a view of that chunk
 * (no copy); so are DATA slices. Events must use these views before they return, or copy them.
 */

import { Flag, FrameType, PREFACE, WireError } from './h2.js';
import { fragmentPadding, fragmentStart, HeaderBlockJoiner, headersFragment } from './header-block.js';

export { Flag, FrameType, MAX_FRAME_SIZE_LIMIT, PREFACE, WireError } from './h2.js';

export interface FrameEvents {
  /** A complete header block (padding and priority stripped, CONTINUATIONs joined). */
  headers(streamId: number, block: Buffer, endStream: boolean): void;
  /**
   * headers() as chunk[start…end) rather than a view: given instead of headers() to a reader
   * that sets it, for blocks in one frame that arrived in one chunk (the proxy's tap; a view per
   * HEADERS frame was a visible share of its CPU). Joined or copied blocks still go to headers().
   */
  headersIn?(streamId: number, chunk: Buffer, start: number, end: number, endStream: boolean): void;
  /** A piece of a DATA frame's payload, padding excluded. Readers that leave it out get no slices (the proxy when nothing observes bodies). */
  data?(streamId: number, chunk: Buffer): void;
  /** data() as chunk[start…end) rather than a view of it: given instead of data() to a reader that sets it. */
  dataIn?(streamId: number, chunk: Buffer, start: number, end: number): void;
  /**
   * The end of a DATA frame; `endStream` when it carried END_STREAM. `frameLength` is the whole
   * payload length, padding included: what the frame counts against flow-control windows.
   */
  dataEnd(streamId: number, endStream: boolean, frameLength: number): void;
  rstStream(streamId: number, errorCode: number): void;
  goaway(lastStreamId: number, errorCode: number): void;
  /** A non-ACK SETTINGS frame: pairs of (identifier, value). */
  settings(params: Array<[number, number]>): void;
  /** A SETTINGS ACK (only readers that terminate the connection care). */
  settingsAck?(): void;
  /** A PING frame (8 opaque bytes); given only to readers that set it (replay's own server answers them). */
  ping?(payload: Buffer, ack: boolean): void;
  /** A WINDOW_UPDATE frame; given only to readers that set it (the proxy leaves flow control end to end). */
  windowUpdate?(streamId: number, increment: number): void;
}

export interface FrameReaderOptions {
  /** Expect the client connection preface first (client → server direction). */
  preface: boolean;
  /** Upper bound for a joined header block; beyond it the connection is treated as hostile. */
  maxHeaderBlock?: number;
}

const HEADER_LEN = 9;
/** Frame types whose payload every reader reads; the rest are skipped without copying. */
const KEEP_PAYLOAD: readonly number[] = [
  FrameType.HEADERS, FrameType.CONTINUATION, FrameType.RST_STREAM, FrameType.GOAWAY, FrameType.SETTINGS,
];
/** Upper bound for frames that are small by definition (PING 8, WINDOW_UPDATE 4). */
const SMALL_FRAME_MAX = 64;
/** `payload` of a frame whose payload is kept, before its first bytes arrive. */
const WHOLE = Buffer.alloc(0);

export class FrameReader {
  private prefaceLeft: number;
  private readonly hdr = Buffer.alloc(HEADER_LEN);
  private hdrHave = 0;
  /** Current frame, once its header is read. */
  private inFrame = false;
  private type = 0;
  private flags = 0;
  private streamId = 0;
  private length = 0;
  private consumed = 0;
  /** DATA: bytes of padding at the frame's end; -1 until the pad-length octet is read. */
  private padLen = 0;
  /**
   * Non-DATA frame payload: the buffer it lies in from `payloadAt` on. A payload wholly inside
   * the chunk being read is that chunk (no view made); one split across chunks is copied.
   */
  private payload: Buffer | null = null;
  private payloadAt = 0;
  /** Header block being joined across CONTINUATION frames. */
  private readonly joiner: HeaderBlockJoiner;
  private readonly maxHeaderBlock: number;
  /** KEEP_PAYLOAD plus PING / WINDOW_UPDATE when this reader's events want them. */
  private readonly keep: Set<number>;

  constructor(
    private readonly events: FrameEvents,
    opts: FrameReaderOptions,
  ) {
    this.prefaceLeft = opts.preface ? PREFACE.length : 0;
    this.maxHeaderBlock = opts.maxHeaderBlock ?? 16 * 1024 * 1024;
    this.joiner = new HeaderBlockJoiner(this.maxHeaderBlock);
    this.keep = new Set(KEEP_PAYLOAD);
    if (events.ping) this.keep.add(FrameType.PING);
    if (events.windowUpdate) this.keep.add(FrameType.WINDOW_UPDATE);
  }

  /** True between frames: a frame of our own could be inserted into this direction here. */
  get atFrameBoundary(): boolean {
    return this.prefaceLeft === 0 && !this.inFrame && this.hdrHave === 0 && !this.joiner.open;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    if (this.prefaceLeft > 0) {
      const start = PREFACE.length - this.prefaceLeft;
      const n = Math.min(this.prefaceLeft, end);
      if (chunk.compare(PREFACE, start, start + n, 0, n) !== 0) {
        throw new WireError('not an HTTP/2 client: bad connection preface');
      }
      this.prefaceLeft -= n;
      pos = n;
    }
    while (pos < end) {
      if (!this.inFrame) {
        // Fast path: a whole frame header in this chunk.
        if (this.hdrHave === 0 && end - pos >= HEADER_LEN) {
          this.startFrame(chunk, pos);
          pos += HEADER_LEN;
        } else {
          const n = Math.min(HEADER_LEN - this.hdrHave, end - pos);
          chunk.copy(this.hdr, this.hdrHave, pos, pos + n);
          this.hdrHave += n;
          pos += n;
          if (this.hdrHave < HEADER_LEN) return;
          this.hdrHave = 0;
          this.startFrame(this.hdr, 0);
        }
        if (this.length === 0) {
          this.finishFrame();
          continue;
        }
        // The header ended this chunk: the payload (a padded DATA frame's pad-length octet
        // included) starts in the next one, so there is nothing to read here.
        if (pos === end) return;
      }
      const take = Math.min(this.length - this.consumed, end - pos);
      if (this.type === FrameType.DATA) this.dataBytes(chunk, pos, take);
      else if (this.payload === WHOLE && take === this.length) {
        // All here: the chunk itself is the payload's buffer (not even a view is made).
        this.payload = chunk;
        this.payloadAt = pos;
      }
      else this.collect(chunk, pos, take);
      pos += take;
      this.consumed += take;
      if (this.consumed === this.length) this.finishFrame();
    }
  }

  private startFrame(buf: Buffer, at: number): void {
    this.length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
    this.type = buf[at + 3]!;
    this.flags = buf[at + 4]!;
    this.streamId = buf.readUInt32BE(at + 5) & 0x7fffffff;
    this.consumed = 0;
    this.inFrame = true;
    this.joiner.checkNext(this.type);
    if (this.type === FrameType.DATA) {
      if (this.streamId === 0) throw new WireError('DATA frame on stream 0');
      this.padLen = this.flags & Flag.PADDED ? -1 : 0;
    } else if (this.length > 0) {
      // Frames other than DATA are small by nature; a HEADERS frame is bounded by the block cap.
      const keep = this.keep.has(this.type);
      const small = this.type === FrameType.PING || this.type === FrameType.WINDOW_UPDATE;
      if (keep && this.length > (small ? SMALL_FRAME_MAX : this.maxHeaderBlock)) {
        throw new WireError(`frame of type ${this.type} claims ${this.length} bytes`);
      }
      // Allocated once the first payload bytes show whether the whole payload is in this chunk.
      this.payload = keep ? WHOLE : null;
    }
  }

  /** Copies a piece of a payload split across chunks. */
  private collect(chunk: Buffer, pos: number, n: number): void {
    if (this.payload === WHOLE) {
      this.payload = Buffer.allocUnsafe(this.length);
      this.payloadAt = 0;
    }
    if (this.payload !== null) chunk.copy(this.payload, this.consumed, pos, pos + n);
  }

  private dataBytes(chunk: Buffer, pos: number, n: number): void {
    let from = pos;
    if (this.padLen === -1) {
      this.padLen = chunk[from]!;
      if (this.padLen >= this.length) throw new WireError(`DATA padding ${this.padLen} exceeds frame length ${this.length}`);
      from++;
    }
    // Payload bytes lie in [padded ? 1 : 0, length - padLen); clip this piece to that window.
    const stop = Math.min(pos + n, pos + (this.length - this.padLen - this.consumed));
    if (stop <= from) return;
    const events = this.events;
    if (events.dataIn !== undefined) events.dataIn(this.streamId, chunk, from, stop);
    else if (events.data !== undefined) events.data(this.streamId, chunk.subarray(from, stop));
  }

  /** The current frame's payload as a Buffer of its own length (a view when it lies in a chunk). */
  private viewOf(payload: Buffer | null, at: number): Buffer | null {
    if (payload === null) return null;
    return at === 0 && payload.length === this.length ? payload : payload.subarray(at, at + this.length);
  }

  private finishFrame(): void {
    this.inFrame = false;
    const { type, flags, streamId } = this;
    const payload = this.payload;
    const at = this.payloadAt;
    this.payload = null;
    this.payloadAt = 0;
    switch (type) {
      case FrameType.DATA:
        this.events.dataEnd(streamId, (flags & Flag.END_STREAM) !== 0, this.length);
        return;
      case FrameType.HEADERS:
      case FrameType.CONTINUATION: {
        if (type === FrameType.HEADERS && flags & Flag.END_HEADERS) {
          // The usual case, a block in one frame: no joining.
          const endStream = (flags & Flag.END_STREAM) !== 0;
          if (this.events.headersIn !== undefined && payload !== null) {
            const from = fragmentStart(payload, at, this.length, flags, streamId);
            this.events.headersIn(streamId, payload, from, at + this.length - fragmentPadding(payload, at, flags), endStream);
          } else {
            this.events.headers(streamId, headersFragment(this.viewOf(payload, at), this.length, flags, streamId), endStream);
          }
          return;
        }
        const view = this.viewOf(payload, at);
        const done =
          type === FrameType.HEADERS
            ? this.joiner.headers(streamId, headersFragment(view, this.length, flags, streamId), flags)
            : this.joiner.continuation(streamId, view, flags);
        if (done) this.events.headers(done.streamId, done.block, done.endStream);
        return;
      }
      case FrameType.RST_STREAM:
        if (this.length !== 4 || payload === null) throw new WireError('RST_STREAM frame of wrong size');
        this.events.rstStream(streamId, payload.readUInt32BE(at));
        return;
      case FrameType.GOAWAY:
        if (this.length < 8 || payload === null) throw new WireError('GOAWAY frame too short');
        this.events.goaway(payload.readUInt32BE(at) & 0x7fffffff, payload.readUInt32BE(at + 4));
        return;
      case FrameType.SETTINGS: {
        if (flags & Flag.ACK) {
          this.events.settingsAck?.();
          return;
        }
        if (this.length % 6 !== 0) throw new WireError('SETTINGS frame length not a multiple of 6');
        const params: Array<[number, number]> = [];
        for (let i = 0; payload !== null && i < this.length; i += 6) {
          params.push([payload.readUInt16BE(at + i), payload.readUInt32BE(at + i + 2)]);
        }
        this.events.settings(params);
        return;
      }
      case FrameType.PING:
        if (!this.events.ping) return;
        if (this.length !== 8 || payload === null) throw new WireError('PING frame of wrong size');
        if (streamId !== 0) throw new WireError('PING frame on a stream');
        this.events.ping(this.viewOf(payload, at)!, (flags & Flag.ACK) !== 0);
        return;
      case FrameType.WINDOW_UPDATE:
        if (!this.events.windowUpdate) return;
        if (this.length !== 4 || payload === null) throw new WireError('WINDOW_UPDATE frame of wrong size');
        this.events.windowUpdate(streamId, payload.readUInt32BE(at) & 0x7fffffff);
        return;
      default:
        // PRIORITY, PUSH_PROMISE and unknown types: nothing to observe. For the proxy, PING
        // and WINDOW_UPDATE too: flow control stays end to end between client and runtime.
        return;
    }
  }
}
