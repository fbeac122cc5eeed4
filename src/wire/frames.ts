/**
 * Incremental HTTP/2 frame reader (RFC 9113 §4) for one direction of a connection.
 *
 * The proxy forwards bytes untouched and feeds a copy of them here to *observe* the frames.
 * DATA payloads are handed out as slices as they arrive (a 16 MiB frame is never buffered
 * here); every other frame is small and is delivered whole. Header blocks are joined across
 * CONTINUATION frames before delivery.
 */

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** The largest frame payload any peer may announce (2^24 - 1). */
export const MAX_FRAME_SIZE_LIMIT = 0xffffff;

export class WireError extends Error {}

export interface FrameEvents {
  /** A complete header block (padding and priority stripped, CONTINUATIONs joined). */
  headers(streamId: number, block: Buffer, endStream: boolean): void;
  /** A piece of a DATA frame's payload, padding excluded. */
  data(streamId: number, chunk: Buffer): void;
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
  /** Non-DATA frame payload being collected. */
  private payload: Buffer | null = null;
  /** Header block being joined across CONTINUATION frames. */
  private blockParts: Buffer[] | null = null;
  private blockLen = 0;
  private blockStream = 0;
  private blockEndStream = false;
  private readonly maxHeaderBlock: number;
  /** KEEP_PAYLOAD plus PING / WINDOW_UPDATE when this reader's events want them. */
  private readonly keep: Set<number>;

  constructor(
    private readonly events: FrameEvents,
    opts: FrameReaderOptions,
  ) {
    this.prefaceLeft = opts.preface ? PREFACE.length : 0;
    this.maxHeaderBlock = opts.maxHeaderBlock ?? 16 * 1024 * 1024;
    this.keep = new Set(KEEP_PAYLOAD);
    if (events.ping) this.keep.add(FrameType.PING);
    if (events.windowUpdate) this.keep.add(FrameType.WINDOW_UPDATE);
  }

  /** True between frames: a frame of our own could be inserted into this direction here. */
  get atFrameBoundary(): boolean {
    return this.prefaceLeft === 0 && !this.inFrame && this.hdrHave === 0 && this.blockParts === null;
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
    if (this.blockParts !== null && this.type !== FrameType.CONTINUATION) {
      throw new WireError(`expected CONTINUATION for stream ${this.blockStream}, got frame type ${this.type}`);
    }
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
      this.payload = keep ? Buffer.allocUnsafe(this.length) : null;
    }
  }

  private collect(chunk: Buffer, pos: number, n: number): void {
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
    if (stop > from) this.events.data(this.streamId, chunk.subarray(from, stop));
  }

  private finishFrame(): void {
    this.inFrame = false;
    const { type, flags, streamId } = this;
    const payload = this.payload;
    this.payload = null;
    switch (type) {
      case FrameType.DATA:
        this.events.dataEnd(streamId, (flags & Flag.END_STREAM) !== 0, this.length);
        return;
      case FrameType.HEADERS: {
        if (streamId === 0) throw new WireError('HEADERS frame on stream 0');
        let start = 0;
        let stop = this.length;
        if (flags & Flag.PADDED) {
          if (stop < 1) throw new WireError('HEADERS frame too short for its padding');
          const pad = payload![0]!;
          start = 1;
          stop -= pad;
        }
        if (flags & Flag.PRIORITY) start += 5;
        if (stop < start) throw new WireError('HEADERS frame padding exceeds its length');
        const frag = payload ? payload.subarray(start, stop) : Buffer.alloc(0);
        const endStream = (flags & Flag.END_STREAM) !== 0;
        if (flags & Flag.END_HEADERS) {
          this.events.headers(streamId, frag, endStream);
        } else {
          this.blockParts = [frag];
          this.blockLen = frag.length;
          this.blockStream = streamId;
          this.blockEndStream = endStream;
        }
        return;
      }
      case FrameType.CONTINUATION: {
        if (this.blockParts === null || streamId !== this.blockStream) {
          throw new WireError(`unexpected CONTINUATION on stream ${streamId}`);
        }
        const frag = payload ?? Buffer.alloc(0);
        this.blockParts.push(frag);
        this.blockLen += frag.length;
        if (this.blockLen > this.maxHeaderBlock) throw new WireError(`header block over ${this.maxHeaderBlock} bytes`);
        if (flags & Flag.END_HEADERS) {
          const block = Buffer.concat(this.blockParts, this.blockLen);
          this.blockParts = null;
          this.events.headers(this.blockStream, block, this.blockEndStream);
        }
        return;
      }
      case FrameType.RST_STREAM:
        if (this.length !== 4 || payload === null) throw new WireError('RST_STREAM frame of wrong size');
        this.events.rstStream(streamId, payload.readUInt32BE(0));
        return;
      case FrameType.GOAWAY:
        if (this.length < 8 || payload === null) throw new WireError('GOAWAY frame too short');
        this.events.goaway(payload.readUInt32BE(0) & 0x7fffffff, payload.readUInt32BE(4));
        return;
      case FrameType.SETTINGS: {
        if (flags & Flag.ACK) {
          this.events.settingsAck?.();
          return;
        }
        if (this.length % 6 !== 0) throw new WireError('SETTINGS frame length not a multiple of 6');
        const params: Array<[number, number]> = [];
        for (let i = 0; payload !== null && i < this.length; i += 6) {
          params.push([payload.readUInt16BE(i), payload.readUInt32BE(i + 2)]);
        }
        this.events.settings(params);
        return;
      }
      case FrameType.PING:
        if (!this.events.ping) return;
        if (this.length !== 8 || payload === null) throw new WireError('PING frame of wrong size');
        if (streamId !== 0) throw new WireError('PING frame on a stream');
        this.events.ping(payload, (flags & Flag.ACK) !== 0);
        return;
      case FrameType.WINDOW_UPDATE:
        if (!this.events.windowUpdate) return;
        if (this.length !== 4 || payload === null) throw new WireError('WINDOW_UPDATE frame of wrong size');
        this.events.windowUpdate(streamId, payload.readUInt32BE(0) & 0x7fffffff);
        return;
      default:
        // PRIORITY, PUSH_PROMISE and unknown types: nothing to observe. For the proxy, PING
        // and WINDOW_UPDATE too: flow control stays end to end between client and runtime.
        return;
    }
  }
}
