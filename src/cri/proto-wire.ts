/**
 * Just enough of the protobuf wire format to walk a message's fields without decoding
 * them, so a rewrite can copy everything it does not touch (unknown fields included)
 * byte for byte.
 */
import { CodecError } from './codec-error.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** One field occurrence: [tagStart, end) is all of it; for WIRE_LEN, [dataStart, end) is the payload. */
export interface WireField {
  fieldNo: number;
  wireType: number;
  tagStart: number;
  /** Where the value begins: after the tag, and for WIRE_LEN after the length too. */
  dataStart: number;
  end: number;
}

/** Reads a varint up to 2^53 (larger lengths and tags are malformed anyway). Returns [value, next]. */
export function readVarint(buf: Uint8Array, pos: number, limit: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= limit) throw new CodecError(`critap: truncated varint at byte ${pos}`);
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, pos];
    scale *= 128;
  }
  throw new CodecError(`critap: varint longer than 10 bytes at byte ${pos}`);
}

export function encodeVarint(value: number): Buffer {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

/** Reads the field starting at `pos`; throws CodecError when the bytes are not a valid encoding. */
export function readField(buf: Uint8Array, pos: number, limit: number): WireField {
  const tagStart = pos;
  const [tag, afterTag] = readVarint(buf, pos, limit);
  const fieldNo = Math.floor(tag / 8);
  const wireType = tag % 8;
  if (fieldNo < 1) throw new CodecError(`critap: invalid field number 0 at byte ${tagStart}`);
  let dataStart = afterTag;
  let end: number;
  switch (wireType) {
    case WIRE_VARINT:
      end = readVarint(buf, afterTag, limit)[1];
      break;
    case WIRE_FIXED64:
      end = afterTag + 8;
      break;
    case WIRE_FIXED32:
      end = afterTag + 4;
      break;
    case WIRE_LEN: {
      const [length, afterLength] = readVarint(buf, afterTag, limit);
      dataStart = afterLength;
      end = afterLength + length;
      break;
    }
    case WIRE_START_GROUP:
      end = skipGroup(buf, afterTag, limit, fieldNo);
      break;
    default:
      throw new CodecError(`critap: invalid wire type ${wireType} at byte ${tagStart}`);
  }
  if (end > limit) throw new CodecError(`critap: field ${fieldNo} at byte ${tagStart} runs past the end of its message`);
  return { fieldNo, wireType, tagStart, dataStart, end };
}

function skipGroup(buf: Uint8Array, pos: number, limit: number, fieldNo: number): number {
  while (pos < limit) {
    const [tag, afterTag] = readVarint(buf, pos, limit);
    if (tag % 8 === WIRE_END_GROUP) {
      if (Math.floor(tag / 8) !== fieldNo) throw new CodecError(`critap: mismatched end group at byte ${pos}`);
      return afterTag;
    }
    pos = readField(buf, pos, limit).end;
  }
  throw new CodecError(`critap: unterminated group ${fieldNo}`);
}
