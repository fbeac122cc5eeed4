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

/** Octets of an HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function intLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let n = 2;
  for (value -= max; value >= 128; value = Math.floor(value / 128)) n++;
  return n;
}

function writeInt(out: Buffer, pos: number, value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[pos] = value;
    return pos + 1;
  }
  out[pos++] = max;
  for (value -= max; value >= 128; value = Math.floor(value / 128)) out[pos++] = (value & 0x7f) | 0x80;
  out[pos] = value;
  return pos + 1;
}

/**
 * HPACK-encodes headers as literals without indexing, new name (no Huffman), into one buffer.
 * Names must be lower case; strings are latin1 (one octet per character), as HpackDecoder gives them.
 */
export function encodeHeaderBlock(headers: readonly Header[]): Buffer {
  let size = 0;
  for (const [name, value] of headers) size += 1 + intLength(name.length, 7) + name.length + intLength(value.length, 7) + value.length;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const [name, value] of headers) {
    out[pos++] = 0x00; // literal without indexing, new name
    pos = writeInt(out, pos, name.length, 7);
    pos += out.write(name, pos, 'latin1');
    pos = writeInt(out, pos, value.length, 7);
    pos += out.write(value, pos, 'latin1');
  }
  return out;
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
