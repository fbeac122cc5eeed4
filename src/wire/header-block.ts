/**
 * Header blocks as HTTP/2 carries them: the fragment inside a HEADERS frame (padding and priority
 * fields removed) and the join of HEADERS + CONTINUATION frames into one block (RFC 9113 §6.2,
 * §6.10). Shared by the frame reader that observes connections and the rewriter behind
 * --propagate-trace, which must agree on every byte of it.
 */
import { Flag, FrameType, WireError } from './h2.js';

/**
 * Where a HEADERS frame's header-block fragment starts in `buf` (its payload at `at`), past the
 * pad-length octet and priority fields; throws WireError for a frame whose fields do not fit.
 */
export function fragmentStart(buf: Buffer, at: number, length: number, flags: number, streamId: number): number {
  if (streamId === 0) throw new WireError('HEADERS frame on stream 0');
  let start = 0;
  let stop = length;
  if (flags & Flag.PADDED) {
    if (stop < 1) throw new WireError('HEADERS frame too short for its padding');
    start = 1;
    stop -= buf[at]!;
  }
  if (flags & Flag.PRIORITY) start += 5;
  if (stop < start) throw new WireError('HEADERS frame padding exceeds its length');
  return at + start;
}

/** Bytes of padding at the end of a HEADERS payload at `at` (0 unless PADDED; checked by fragmentStart). */
export function fragmentPadding(buf: Buffer, at: number, flags: number): number {
  return flags & Flag.PADDED ? buf[at]! : 0;
}

const NO_BYTES = Buffer.alloc(0);

/** The header-block fragment of a HEADERS frame's payload. */
export function headersFragment(payload: Buffer | null, length: number, flags: number, streamId: number): Buffer {
  // No payload only for an empty frame, which PADDED makes too short before any byte is read.
  const buf = payload ?? NO_BYTES;
  const start = fragmentStart(buf, 0, length, flags, streamId);
  if (payload === null) return Buffer.alloc(0);
  const stop = length - fragmentPadding(buf, 0, flags);
  return start === 0 && stop === payload.length ? payload : payload.subarray(start, stop);
}

export interface HeaderBlock {
  streamId: number;
  block: Buffer;
  endStream: boolean;
}

/** Joins one header block at a time; a connection has at most one open (§6.10). */
export class HeaderBlockJoiner {
  private parts: Buffer[] | null = null;
  private length = 0;
  private streamId = 0;
  private endStream = false;

  constructor(private readonly maxBlock: number) {}

  /** Call with each frame's type as its header is read: only a CONTINUATION may follow an open block. */
  checkNext(type: number): void {
    if (this.parts !== null && type !== FrameType.CONTINUATION) {
      throw new WireError(`expected CONTINUATION for stream ${this.streamId}, got frame type ${type}`);
    }
  }

  /** A HEADERS frame's fragment: the whole block when it carries END_HEADERS, else null. */
  headers(streamId: number, fragment: Buffer, flags: number): HeaderBlock | null {
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (flags & Flag.END_HEADERS) return { streamId, block: fragment, endStream };
    // Kept past this frame: a copy, as the fragment may be a view of a chunk that is reused.
    this.parts = [Buffer.from(fragment)];
    this.length = fragment.length;
    this.streamId = streamId;
    this.endStream = endStream;
    return null;
  }

  /** A CONTINUATION frame's payload: the whole block once END_HEADERS arrives, else null. */
  continuation(streamId: number, payload: Buffer | null, flags: number): HeaderBlock | null {
    if (this.parts === null || streamId !== this.streamId) throw new WireError(`unexpected CONTINUATION on stream ${streamId}`);
    const fragment = payload ?? Buffer.alloc(0);
    this.parts.push((flags & Flag.END_HEADERS) === 0 ? Buffer.from(fragment) : fragment);
    this.length += fragment.length;
    if (this.length > this.maxBlock) throw new WireError(`header block over ${this.maxBlock} bytes`);
    if ((flags & Flag.END_HEADERS) === 0) return null;
    const block = Buffer.concat(this.parts, this.length);
    this.parts = null;
    return { streamId: this.streamId, block, endStream: this.endStream };
  }

  /** A block is open (between HEADERS and its last CONTINUATION). */
  get open(): boolean {
    return this.parts !== null;
  }
}
