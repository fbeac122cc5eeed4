/**
 * A small protobuf writer for the OTLP span encoder (otlp-span-encoder.ts): varints, fixed-width
 * numbers, strings and nested messages, written into one growing buffer that is reused from span
 * to span.
 *
 * A nested message's length comes before its bytes but is known only after them. The writer
 * reserves one byte for it (most OTLP sub-messages — a KeyValue, an AnyValue, a status — are under
 * 128 bytes) and, when the message turns out longer, moves its bytes up by the length's extra
 * bytes once. That keeps it to one pass, where the SDK's serializer measures every span twice.
 */

/** Protobuf wire types, by the names the encoder uses (the project's own, from proto-wire.ts). */
export { WIRE_VARINT as VARINT, WIRE_FIXED64 as I64, WIRE_LEN as LEN, WIRE_FIXED32 as I32 } from '../cri/proto-wire.js';
import { copyBytes } from '../copy-bytes.js';
import { GrowableBytes } from '../growable-bytes.js';
import { WIRE_LEN as LEN } from '../cri/proto-wire.js';
import { randomIdInto } from './trace-ids.js';

/** Bytes a varint of `v` (a non-negative safe integer) takes. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

const TWO_32 = 0x1_0000_0000;

/** Hex digit values by character code (ids are validated before they get here). */
const HEX = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = HEX[65 + i] = 10 + i;

// Little-endian on every platform Node.js runs critap on (x86-64, arm64); checked at load.
const U64 = new BigUint64Array(1);
const U64_BYTES = new Uint8Array(U64.buffer);
U64[0] = 1n;
if (U64_BYTES[0] !== 1) throw new Error('critap: the OTLP encoder needs a little-endian machine');

export class ProtoWriter extends GrowableBytes {
  constructor(initialSize = 2048) {
    super(initialSize);
  }

  /** A field's key: its number and wire type. */
  tag(field: number, wire: number): void {
    this.uint((field << 3) | wire);
  }

  /** A non-negative integer (up to 2^53) as a varint. */
  uint(v: number): void {
    this.room(10);
    const b = this.buf;
    let p = this.pos;
    while (v > 0x7fffffff) {
      b[p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** An int64 varint: negative values in two's complement, ten bytes, as protobuf wants them. */
  int64(v: number): void {
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      this.uint(v);
      return;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    this.room(10);
    while (x > 0x7fn) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  fixed32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** A fixed64 from a bigint (nanosecond timestamps, which do not fit a double exactly). */
  fixed64(v: bigint): void {
    this.room(8);
    // A typed-array store converts the bigint without the bounds checks and BigInt shifts of
    // Buffer#writeBigUInt64LE (which took a third of a span's encoding in a profile).
    U64[0] = v;
    this.buf.set(U64_BYTES, this.pos);
    this.pos += 8;
  }

  /** A fixed64 from a safe integer. */
  fixed64Number(v: number): void {
    this.room(8);
    this.buf.writeUInt32LE(v % TWO_32 >>> 0, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / TWO_32) >>> 0, this.pos + 4);
    this.pos += 8;
  }

  double(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** A string's length and UTF-8 bytes (the field's tag is the caller's). */
  string(s: string): void {
    const n = s.length;
    // Most strings here (attribute keys, method names, ids) are short ASCII: copy them by hand,
    // which for short strings is cheaper than measuring and writing them through Buffer.
    if (n < 128) {
      this.room(n + 1);
      const b = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        b[start + i] = c;
      }
      if (i === n) {
        b[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.uint(bytes);
    this.room(bytes);
    this.buf.write(s, this.pos, bytes, 'utf8');
    this.pos += bytes;
  }

  /**
   * A bytes field's length and bytes, given as hex (trace and span ids, lower or upper case).
   * Decoded by hand: for 8- and 16-byte ids, Buffer#write(…, 'hex') costs more in its call
   * than in its work.
   */
  hexBytes(hex: string): void {
    const n = hex.length >>> 1;
    this.uint(n);
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < hex.length - 1; i += 2) b[p++] = (HEX[hex.charCodeAt(i) & 0x7f]! << 4) | HEX[hex.charCodeAt(i + 1) & 0x7f]!;
    this.pos = p;
  }

  /** A bytes field's length and a random id of `n` bytes (a trace or span id nobody reads as text). */
  randomId(n: number): void {
    this.uint(n);
    this.room(n);
    randomIdInto(this.buf, this.pos, n);
    this.pos += n;
  }

  /** Bytes already encoded (a pre-encoded field, tag and all). */
  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Starts a nested message in field `field`; give what it returns to end(). */
  begin(field: number): number {
    this.tag(field, LEN);
    this.room(1);
    return this.pos++;
  }

  /** Ends the nested message begun at `at`, writing its length in front of it. */
  end(at: number): void {
    const len = this.pos - at - 1;
    if (len < 128) {
      this.buf[at] = len;
      return;
    }
    const extra = varintSize(len) - 1;
    this.room(extra);
    this.buf.copy(this.buf, at + 1 + extra, at + 1, this.pos);
    const end = this.pos + extra;
    this.pos = at;
    this.uint(len);
    this.pos = end;
  }

  /** A copy of what was written; the writer starts over. */
  take(): Buffer {
    const n = this.pos;
    const out = Buffer.allocUnsafe(n);
    copyBytes(this.buf, 0, out, 0, n);
    this.pos = 0;
    return out;
  }
}
