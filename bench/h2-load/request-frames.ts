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

/** One call's request frames with stream id 0; `at(id)` gives a copy for stream `id`. */
export class CallTemplate {
  private readonly bytes: Buffer;
  /** Offsets of the stream-id fields of the HEADERS (+ CONTINUATION) and DATA frames. */
  private readonly idOffsets: number[];
  /** DATA payload length: what one call takes from the connection's and stream's send windows. */
  readonly dataLength: number;

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
    const frames = [...headersFrames(0, encodeHeaderBlock(headers), false, DEFAULT_MAX_FRAME), frame(FrameType.DATA, Flag.END_STREAM, 0, message)];
    this.idOffsets = [];
    let at = 0;
    for (const f of frames) {
      this.idOffsets.push(at + 5);
      at += f.length;
    }
    this.bytes = Buffer.concat(frames);
    this.dataLength = message.length;
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Writes this call's frames for stream `id` into `out` at `pos`; returns the position after them. */
  writeInto(out: Buffer, pos: number, id: number): number {
    this.bytes.copy(out, pos);
    for (const off of this.idOffsets) out.writeUInt32BE(id, pos + off);
    return pos + this.bytes.length;
  }
}
