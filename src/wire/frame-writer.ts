/**
 * Builds the few HTTP/2 frames critap writes itself: its own answers when the runtime cannot be
 * reached (or goes away mid-call); replay's own server (src/replay/h2) encodes its header blocks here too.
 *
 * Header blocks use HPACK "literal without indexing, new name" only: they never touch either
 * side's dynamic table, so they can be spliced into a connection whose tables critap mirrors
 * but does not own.
 */
import type { Header } from '../call.js';
import { Flag, FrameType } from './frames.js';

function encodeInt(out: number[], value: number, prefixBits: number, firstByte: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByte | value);
    return;
  }
  out.push(firstByte | max);
  value -= max;
  while (value >= 128) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

/** HPACK-encodes headers as literals without indexing (no Huffman). Names must be lower case. */
export function encodeHeaderBlock(headers: readonly Header[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    const prefix: number[] = [];
    prefix.push(0x00); // literal without indexing, new name
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    encodeInt(prefix, n.length, 7, 0);
    const mid: number[] = [];
    encodeInt(mid, v.length, 7, 0);
    parts.push(Buffer.from(prefix), n, Buffer.from(mid), v);
  }
  return Buffer.concat(parts);
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId & 0x7fffffff, 5);
  payload.copy(out, 9);
  return out;
}

/** A header block as HEADERS (+ CONTINUATION) frames no larger than `maxFrame` each. */
export function headersFrames(streamId: number, block: Buffer, endStream: boolean, maxFrame = 16384): Buffer[] {
  const frames: Buffer[] = [];
  let pos = 0;
  let first = true;
  do {
    const piece = block.subarray(pos, pos + maxFrame);
    pos += piece.length;
    const last = pos >= block.length;
    let flags = last ? Flag.END_HEADERS : 0;
    if (first && endStream) flags |= Flag.END_STREAM;
    frames.push(frame(first ? FrameType.HEADERS : FrameType.CONTINUATION, flags, streamId, piece));
    first = false;
  } while (pos < block.length);
  return frames;
}

export function settingsFrame(params: Array<[number, number]> = []): Buffer {
  const payload = Buffer.alloc(params.length * 6);
  params.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

export function goawayFrame(lastStreamId: number, errorCode = 0): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastStreamId & 0x7fffffff, 0);
  payload.writeUInt32BE(errorCode, 4);
  return frame(FrameType.GOAWAY, 0, 0, payload);
}

/** gRPC's percent-encoding of grpc-message: printable ASCII except '%' stays, the rest as %XX of UTF-8. */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeGrpcMessage(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * A gRPC error answer for one stream: trailers-only (with `:status`) when no response headers
 * were sent on it yet, plain trailers otherwise.
 */
export function grpcErrorFrames(streamId: number, code: number, message: string, headersSent: boolean): Buffer[] {
  const headers: Header[] = headersSent
    ? []
    : [
        [':status', '200'],
        ['content-type', 'application/grpc'],
      ];
  headers.push(['grpc-status', String(code)], ['grpc-message', encodeGrpcMessage(message)]);
  return headersFrames(streamId, encodeHeaderBlock(headers), true);
}
