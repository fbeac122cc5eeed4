/**
 * The bytes the cheap load client sends, encoded once per job: the connection preface with its
 * SETTINGS and connection WINDOW_UPDATE, and one call's HEADERS + DATA frames as a template
 * whose two stream-id fields are patched per call. Header blocks come from the project's own
 * HPACK literal encoder (src/wire/frame-writer.ts), so no call encodes a header again.
 */
import type { Header } from '../../src/call.js';
import { encodeHeaderBlock, frame, headersFrames, settingsFrame } from '../../src/wire/frame-writer.js';
import { Flag, FrameType, PREFACE } from '../../src/wire/h2.js';

export const Setting = { HEADER_TABLE_SIZE: 0x1, ENABLE_PUSH: 0x2, MAX_CONCURRENT_STREAMS: 0x3, INITIAL_WINDOW_SIZE: 0x4, MAX_FRAME_SIZE: 0x5 } as const;

/** The largest flow-control window HTTP/2 allows (2^31 - 1). */
export const MAX_WINDOW = 0x7fffffff;
/** Every connection and stream starts with this window (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW = 65_535;
/** Frames no peer may refuse (the default SETTINGS_MAX_FRAME_SIZE). */
export const DEFAULT_MAX_FRAME = 16_384;
/** Each call asks the server to give up after this long, so no benchmark call can hang the run. */
export const CALL_TIMEOUT_S = 120;

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const inc = Buffer.allocUnsafe(4);
  inc.writeUInt32BE(increment);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, inc);
}

/**
 * Preface, SETTINGS (no push, the largest stream window) and a WINDOW_UPDATE raising the
 * connection window to the largest: answers of any size flow without waiting for us.
 */
export function connectionPreface(): Buffer {
  return Buffer.concat([
    PREFACE,
    settingsFrame([
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, MAX_WINDOW],
    ]),
    windowUpdateFrame(0, MAX_WINDOW - DEFAULT_WINDOW),
  ]);
}

/** HPACK (RFC 7541) dynamic table size every connection starts with, until the server's SETTINGS say less. */
export const DEFAULT_TABLE_SIZE = 4096;

/** An HPACK integer with an N-bit prefix (§5.1), its first octet's flag bits given. */
function hpackInt(flags: number, prefixBits: number, value: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  for (value -= max; value >= 128; value = Math.floor(value / 128)) out.push((value & 0x7f) | 0x80);
  out.push(value);
  return out;
}

/** One call's frames for stream id 0, with the offsets of their stream-id fields. */
export class FramesTemplate {
  private readonly bytes: Buffer;
  private readonly idOffsets: number[] = [];

  constructor(block: Buffer, message: Buffer) {
    const frames = [...headersFrames(0, block, false, DEFAULT_MAX_FRAME), frame(FrameType.DATA, Flag.END_STREAM, 0, message)];
    let at = 0;
    for (const f of frames) {
      this.idOffsets.push(at + 5);
      at += f.length;
    }
    this.bytes = Buffer.concat(frames);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Writes the frames for stream `id` into `out` at `pos`; returns the position after them. */
  writeInto(out: Buffer, pos: number, id: number): number {
    this.bytes.copy(out, pos);
    for (const off of this.idOffsets) out.writeUInt32BE(id, pos + off);
    return pos + this.bytes.length;
  }
}

/**
 * One call's request frames, in the three header encodings a connection needs: the first call
 * adds every header to the server's HPACK dynamic table, later calls name them by index (a few
 * octets, what real gRPC clients send), and plain literals serve a server whose table is too
 * small for them. Each is encoded once; a call costs a copy and two stream-id writes.
 */
export class CallTemplate {
  /** First call on a connection: literals with incremental indexing. */
  readonly indexing: FramesTemplate;
  /** Later calls: indexed header fields only. */
  readonly indexed: FramesTemplate;
  /** Literals without indexing: no dynamic table used. */
  readonly literal: FramesTemplate;
  /** Octets the headers take in the dynamic table (§4.1: name + value + 32 each). */
  readonly tableSize: number;
  /** DATA payload length: what one call takes from the connection's and stream's send windows. */
  readonly dataLength: number;
  private readonly headers: Header[];
  private readonly message: Buffer;

  constructor(path: string, request: Buffer, metadata: Record<string, string> = {}) {
    const headers: Header[] = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ['grpc-timeout', `${CALL_TIMEOUT_S}S`],
    ];
    for (const [k, v] of Object.entries(metadata)) headers.push([k.toLowerCase(), v]);
    const message = Buffer.allocUnsafe(5 + request.length);
    message[0] = 0; // not compressed
    message.writeUInt32BE(request.length, 1);
    request.copy(message, 5);
    if (message.length > DEFAULT_MAX_FRAME) {
      throw new Error(`critap: bench h2 client sends requests in one DATA frame; ${request.length} bytes is over ${DEFAULT_MAX_FRAME - 5}`);
    }
    this.headers = headers;
    this.message = message;
    this.dataLength = message.length;
    this.tableSize = headers.reduce((n, [k, v]) => n + k.length + v.length + 32, 0);
    this.literal = new FramesTemplate(encodeHeaderBlock(headers), message);
    // "Literal with incremental indexing, new name" (§6.2.1) is laid out like the literal without
    // indexing that encodeHeaderBlock writes, but for its first octet: 0x40 instead of 0x00.
    this.indexing = new FramesTemplate(Buffer.concat(headers.map((h) => {
      const one = encodeHeaderBlock([h]);
      one[0] = 0x40;
      return one;
    })), message);
    // The last header added is index 62 (the first dynamic entry), the first added the highest.
    this.indexed = new FramesTemplate(Buffer.from(headers.flatMap((_, i) => hpackInt(0x80, 7, 62 + headers.length - 1 - i))), message);
  }

  /** Literals after a dynamic table size update (§6.3): the first block after the server asked for a smaller table. */
  literalAfterSizeUpdate(size: number): FramesTemplate {
    return new FramesTemplate(Buffer.concat([Buffer.from(hpackInt(0x20, 5, size)), encodeHeaderBlock(this.headers)]), this.message);
  }
}
