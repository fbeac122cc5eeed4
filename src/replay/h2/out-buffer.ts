/**
 * The bytes a connection is about to write, gathered so that everything produced while one
 * socket read is handled leaves in a single write (one syscall for many answers): that batching,
 * not the matching, is what makes replay faster than a grpc-js server.
 *
 * Frame headers and small payloads are copied into a shared slab; large payloads (recorded
 * messages of megabytes) are referenced as they are, never copied.
 */
import { FrameType } from '../../wire/frames.js';

const SLAB_SIZE = 64 * 1024;
/** Payloads up to this size are copied into the slab; larger ones are referenced. */
export const COPY_MAX = 8 * 1024;

export class OutBuffer {
  private slab = Buffer.allocUnsafe(SLAB_SIZE);
  /** Start of the slab bytes not yet handed out as a chunk. */
  private start = 0;
  private pos = 0;
  private chunks: Buffer[] = [];
  private chunkBytes = 0;

  /** Bytes waiting to be written. */
  get length(): number {
    return this.chunkBytes + this.pos - this.start;
  }

  private seal(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.slab.subarray(this.start, this.pos));
      this.chunkBytes += this.pos - this.start;
      this.start = this.pos;
    }
  }

  private room(n: number): void {
    if (this.slab.length - this.pos >= n) return;
    this.seal();
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
    this.start = this.pos = 0;
  }

  /** A 9-byte frame header (RFC 9113 §4.1). */
  frameHeader(length: number, type: number, flags: number, streamId: number): void {
    this.room(9);
    const s = this.slab;
    const p = this.pos;
    s[p] = (length >>> 16) & 0xff;
    s[p + 1] = (length >>> 8) & 0xff;
    s[p + 2] = length & 0xff;
    s[p + 3] = type;
    s[p + 4] = flags;
    s.writeUInt32BE(streamId & 0x7fffffff, p + 5);
    this.pos = p + 9;
  }

  /** Payload bytes (copied when small, referenced when large: the caller must not change them). */
  bytes(buf: Buffer): void {
    if (buf.length === 0) return;
    if (buf.length <= COPY_MAX) {
      this.room(buf.length);
      buf.copy(this.slab, this.pos);
      this.pos += buf.length;
      return;
    }
    this.seal();
    this.chunks.push(buf);
    this.chunkBytes += buf.length;
  }

  /** The 5-byte gRPC message prefix (uncompressed, big-endian length), written in place. */
  grpcPrefix(length: number): void {
    this.room(5);
    const s = this.slab;
    const p = this.pos;
    s[p] = 0;
    s[p + 1] = (length >>> 24) & 0xff;
    s[p + 2] = (length >>> 16) & 0xff;
    s[p + 3] = (length >>> 8) & 0xff;
    s[p + 4] = length & 0xff;
    this.pos = p + 5;
  }

  frame(type: number, flags: number, streamId: number, payload?: Buffer): void {
    this.frameHeader(payload?.length ?? 0, type, flags, streamId);
    if (payload) this.bytes(payload);
  }

  /**
   * A header block as HEADERS + CONTINUATION frames of at most `maxFrame` bytes each
   * (END_STREAM, when asked, goes on the HEADERS frame, as RFC 9113 §6.2 wants).
   */
  headers(streamId: number, block: Buffer, endStream: boolean, maxFrame: number): void {
    if (block.length <= maxFrame) {
      // One frame (nearly every answer): no slice of the block.
      this.frame(FrameType.HEADERS, endStream ? 0x5 /* END_HEADERS | END_STREAM */ : 0x4, streamId, block);
      return;
    }
    let pos = 0;
    let first = true;
    do {
      const piece = block.subarray(pos, pos + maxFrame);
      pos += piece.length;
      let flags = pos >= block.length ? 0x4 /* END_HEADERS */ : 0;
      if (first && endStream) flags |= 0x1;
      this.frame(first ? FrameType.HEADERS : FrameType.CONTINUATION, flags, streamId, piece);
      first = false;
    } while (pos < block.length);
  }

  /** Everything gathered so far, in order; the buffer starts empty again. */
  take(): Buffer[] {
    this.seal();
    const out = this.chunks;
    this.chunks = [];
    this.chunkBytes = 0;
    // The slab's unused tail is kept: chunks already handed out lie wholly before `start`.
    return out;
  }
}
