import type { CallRecord, Header, TimedMessage } from '../call.js';
import { copyBytes } from '../copy-bytes.js';
import type { CallIds } from '../cri/ids.js';
import type { ValueHeader } from './call-codec.js';
import { ValueDecodeError } from './value-error.js';
import { packBody } from './packed-bodies.js';
import { GrowableBytes } from '../growable-bytes.js';
import { ENDS, FLAT_KEYS, HEADER_NAMES, HEADER_PAIRS, METHODS } from './value-table.js';

/**
 * Value format 3: the header of a stored call in binary instead of JSON. Why: the JSON header
 * (key names, header lists) was ~500 of the ~550 bytes a small call stored, and LevelDB's own
 * threads (log, memtable, flushes, compactions) pay per byte; writing the JSON also cost the
 * observer thread. Layout, fields in this fixed order:
 *
 *   [0]  3
 *   [1]  flags: 1 a body is in a file, 2 truncated, 4 status details, 8 peer, 16 authority,
 *        32 propagatedTraceparent, 64 fault, 128 redacted (the optional fields below, when set)
 *   method         code (value-table.ts METHODS, 1-based; 0: a string follows)
 *   startNs        uint64 big-endian
 *   durationNs     varint
 *   end            one byte (ENDS)
 *   status code    varint;  status message: string
 *   [details length varint]
 *   requests, responses: varint count; each body: varint offsetNs, varint length*4 + 2 (in a
 *                  file) + 1 (compressed), then the file's name (string) when in a file
 *   request metadata, response headers, trailers: varint count; each header: varint code
 *                  (1..HEADER_PAIRS: that name and value; then HEADER_NAMES: that name, value
 *                  string follows; 0: name string, value string)
 *   requestBytes, responseBytes: varint
 *   ids            flat object (below)
 *   [peer flat object] [authority string] [traceparent string] [fault: its JSON as a string]
 *   [redacted: varint count, strings]
 *   bodies back to back, as in format 1: requests, responses, then status details
 *
 * varint: unsigned LEB128 (7 bits a byte, low first), at most 8 bytes, a safe integer.
 * string: varint byte length, UTF-8. flat object: varint count; each entry: varint key code
 * (FLAT_KEYS, 1-based; 0: a key string follows) * 2 + 1 when the value is a number (varint), else
 * a string follows.
 *
 * A call this cannot hold exactly (a number that is not a non-negative safe integer, a start
 * before 1970 or past 2^64 ns, a header or id of another shape, a string that is not well-formed
 * UTF-16) is stored in JSON (format 1/2) instead: encodeBinaryValue returns undefined.
 */
export const VALUE_FORMAT_BINARY = 3;
/**
 * Value format 4: format 3 with some large bodies packed (packed-bodies.ts). Each body's tag is
 * then length*8 + 4 (packed) + 2 (in a file) + 1 (compressed), length being the body's own, and a
 * packed body's tag is followed by the varint length it is stored in. A call with no body to pack
 * is stored in format 3, byte for byte as before. Since recording format 5 a body may be both
 * packed and in a file (a repeated body kept once, repeated-bodies.ts): its packed length, then
 * the file's name.
 */
export const VALUE_FORMAT_PACKED = 4;

/** A value of format 3 or 4: a binary header, read by decodeBinaryHeader. */
export function isBinaryValue(value: Uint8Array): boolean {
  return value[0] === VALUE_FORMAT_BINARY || value[0] === VALUE_FORMAT_PACKED;
}

const FILES = 1;
const TRUNCATED = 2;
const DETAILS = 4;
const PEER = 8;
const AUTHORITY = 16;
const TRACEPARENT = 32;
const FAULT = 64;
const REDACTED = 128;

/** Thrown inside the encoder when the call needs the JSON format; caught by encodeBinaryValue. */
const NOT_BINARY = new Error('not representable in value format 3');

const METHOD_CODES = codes(METHODS);
const END_CODES = codes(ENDS);
const FLAT_KEY_CODES = codes(FLAT_KEYS);
/** name → value → code, for HEADER_PAIRS. */
const PAIR_CODES = new Map<string, Map<string, number>>();
HEADER_PAIRS.forEach(([name, value], i) => {
  let byValue = PAIR_CODES.get(name);
  if (!byValue) PAIR_CODES.set(name, (byValue = new Map()));
  byValue.set(value, i + 1);
});
const NAME_CODES = new Map(HEADER_NAMES.map((n, i) => [n, HEADER_PAIRS.length + i + 1]));
const LAST_HEADER_CODE = HEADER_PAIRS.length + HEADER_NAMES.length;
const MAX_UINT64 = (1n << 64n) - 1n;

function codes(table: readonly string[]): Map<string, number> {
  return new Map(table.map((s, i) => [s, i + 1]));
}

/** A reused buffer the header is written into (one thread, synchronous). */
class ByteWriter extends GrowableBytes {
  constructor() {
    super(4096);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** A non-negative safe integer (anything else: NOT_BINARY). */
  uint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw NOT_BINARY;
    this.room(8);
    const b = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      b[p++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[p++] = v;
    this.pos = p;
  }

  string(s: string): void {
    if (typeof s !== 'string') throw NOT_BINARY;
    const n = s.length;
    // Most strings are short ASCII: copied character by character, the length known up front.
    this.room(n + 8);
    const start = this.pos;
    this.uint(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return this.utf8(s, start);
      b[p++] = c;
    }
    this.pos = p;
  }

  private utf8(s: string, start: number): void {
    // UTF-8 cannot hold a lone surrogate (JSON can): such a string keeps the call in JSON.
    if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) throw NOT_BINARY;
    this.pos = start;
    const bytes = Buffer.byteLength(s, 'utf8');
    this.uint(bytes);
    this.room(bytes);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  coded(s: string, table: Map<string, number>): void {
    const code = table.get(s);
    if (code !== undefined) return this.uint(code);
    this.byte(0);
    this.string(s);
  }
}

const w = new ByteWriter();

/** Format 3's value for a call, or undefined when only JSON holds it exactly (see above). */
export function encodeBinaryValue(call: CallRecord, ids: CallIds, redacted: string[] | undefined): Buffer | undefined {
  try {
    return encode(call, ids, redacted);
  } catch (err) {
    if (err === NOT_BINARY) return undefined;
    throw err;
  }
}

function encode(call: CallRecord, ids: CallIds, redacted: string[] | undefined): Buffer {
  w.pos = 2;
  const details = call.status.details;
  let flags = 0;
  if (call.truncated) flags |= TRUNCATED;
  if (details) flags |= DETAILS;
  if (call.peer) flags |= PEER;
  if (call.authority !== undefined) flags |= AUTHORITY;
  if (call.propagatedTraceparent !== undefined) flags |= TRACEPARENT;
  if (call.fault !== undefined) flags |= FAULT;
  if (redacted && redacted.length > 0) flags |= REDACTED;

  w.coded(call.method, METHOD_CODES);
  const start = call.startNs;
  if (typeof start !== 'bigint' || start < 0n || start > MAX_UINT64) throw NOT_BINARY;
  writeUint64BE(start);
  w.uint(call.durationNs);
  const end = END_CODES.get(call.end);
  if (end === undefined) throw NOT_BINARY;
  w.byte(end - 1);
  w.uint(call.status.code);
  w.string(call.status.message);
  if (details) w.uint(details.length);
  let bodyBytes = details ? details.length : 0;
  const packs = packLargeBodies(call);
  // Format 4's tags leave a bit for "packed"; format 3's are as they always were.
  const tagScale = packs ? 8 : 4;
  let at = 0;
  for (let list = 0; list < 2; list++) {
    const messages = list === 0 ? call.requests : call.responses;
    w.uint(messages.length);
    for (let i = 0; i < messages.length; i++, at++) {
      const m = messages[i]!;
      w.uint(m.offsetNs);
      const file = m.spooled?.file;
      const compressed = m.compressed ? 1 : 0;
      const packed = packs?.[at];
      if (file !== undefined) {
        flags |= FILES;
        const packedLength = m.spooled!.packedLength;
        if (packedLength !== undefined) {
          w.uint(m.spooled!.length * 8 + 4 + 2 + compressed);
          w.uint(packedLength);
        } else {
          w.uint(m.spooled!.length * tagScale + 2 + compressed);
        }
        w.string(file);
      } else if (packed !== undefined) {
        w.uint(m.data.length * 8 + 4 + compressed);
        w.uint(packed.length);
        bodyBytes += packed.length;
      } else {
        w.uint(m.data.length * tagScale + compressed);
        bodyBytes += m.data.length;
      }
    }
  }
  writeHeaders(call.requestMetadata, 0);
  writeHeaders(call.responseHeaders, 1);
  writeHeaders(call.responseTrailers, 2);
  w.uint(call.requestBytes);
  w.uint(call.responseBytes);
  writeFlat(ids);
  if (call.peer) writeFlat(call.peer);
  if (flags & AUTHORITY) w.string(call.authority!);
  if (flags & TRACEPARENT) w.string(call.propagatedTraceparent!);
  if (flags & FAULT) {
    const json = JSON.stringify(call.fault);
    if (json === undefined) throw NOT_BINARY;
    w.string(json);
  }
  if (flags & REDACTED) {
    w.uint(redacted!.length);
    for (const r of redacted!) w.string(r);
  }
  w.buf[0] = packs ? VALUE_FORMAT_PACKED : VALUE_FORMAT_BINARY;
  w.buf[1] = flags;

  const headerLength = w.pos;
  const out = Buffer.allocUnsafe(headerLength + bodyBytes);
  copyBytes(w.buf, 0, out, 0, headerLength);
  let pos = headerLength;
  pos = copyBodies(call.requests, packs, 0, out, pos);
  pos = copyBodies(call.responses, packs, call.requests.length, out, pos);
  if (details) details.copy(out, pos);
  return out;
}

/**
 * The packed form of each body worth packing (packed-bodies.ts), by its place among the
 * requests and then the responses; undefined when there is none and no body file holds a packed
 * body (most calls: no allocation).
 */
function packLargeBodies(call: CallRecord): Array<Buffer | undefined> | undefined {
  let packs: Array<Buffer | undefined> | undefined;
  let at = 0;
  for (let list = 0; list < 2; list++) {
    const messages = list === 0 ? call.requests : call.responses;
    for (let i = 0; i < messages.length; i++, at++) {
      const m = messages[i]!;
      // A packed body in a file needs format 4's tags (an empty entry: nothing to copy).
      if (m.spooled?.packedLength !== undefined) packs ??= [];
      if (m.spooled?.file !== undefined) continue;
      const packed = packBody(m.data);
      if (packed !== undefined) (packs ??= [])[at] = packed;
    }
  }
  return packs;
}

/** Copies the bodies held in the value (not in files), packed where packed, to out at pos; returns the position after them. */
function copyBodies(messages: readonly TimedMessage[], packs: Array<Buffer | undefined> | undefined, first: number, out: Buffer, pos: number): number {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.spooled?.file === undefined) pos += (packs?.[first + i] ?? m.data).copy(out, pos);
  }
  return pos;
}

/**
 * The call's start time as 8 big-endian bytes. Buffer#writeBigUInt64BE shifts and masks the
 * BigInt, making new BigInts per call; a one-element BigUint64Array stores it without any.
 */
const u64 = new BigUint64Array(1);
const u64Bytes = new Uint8Array(u64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeUint64BE(v: bigint): void {
  w.room(8);
  u64[0] = v;
  const b = w.buf;
  const p = w.pos;
  if (littleEndian) for (let i = 0; i < 8; i++) b[p + i] = u64Bytes[7 - i]!;
  else for (let i = 0; i < 8; i++) b[p + i] = u64Bytes[i]!;
  w.pos = p + 8;
}

/**
 * The bytes of the last header list written in each place (request metadata, response headers,
 * trailers), by the list itself: calls unpacked from one batch share a list that repeats
 * (observe/transfer.ts), so most calls copy bytes instead of looking codes up. Header lists are
 * never changed in place (redaction copies them).
 */
const lastLists: Array<readonly Header[] | undefined> = [undefined, undefined, undefined];
const lastBytes: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)];
const lastLength = [0, 0, 0];

function writeHeaders(headers: readonly Header[], place: number): void {
  if (headers === lastLists[place]) {
    const n = lastLength[place]!;
    w.room(n);
    copyBytes(lastBytes[place]!, 0, w.buf, w.pos, n);
    w.pos += n;
    return;
  }
  lastLists[place] = undefined; // until written whole (a NOT_BINARY part way leaves no stale cache)
  const start = w.pos;
  if (!Array.isArray(headers)) throw NOT_BINARY;
  w.uint(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (!Array.isArray(h) || h.length !== 2) throw NOT_BINARY;
    const [name, value] = h;
    if (typeof name !== 'string' || typeof value !== 'string') throw NOT_BINARY;
    const pair = PAIR_CODES.get(name)?.get(value);
    if (pair !== undefined) {
      w.uint(pair);
      continue;
    }
    w.coded(name, NAME_CODES);
    w.string(value);
  }
  const n = w.pos - start;
  if (lastBytes[place]!.length < n) lastBytes[place] = Buffer.allocUnsafe(Math.max(n, 256));
  copyBytes(w.buf, start, lastBytes[place]!, 0, n);
  lastLength[place] = n;
  lastLists[place] = headers;
}

/** A flat object of strings and non-negative integers (ids, peer), key by key in its own order. */
function writeFlat(obj: object): void {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw NOT_BINARY;
  const values = obj as Record<string, unknown>;
  // for…in over a plain object walks its own keys in Object.keys order without making the array
  // Object.keys would (per call, twice); other prototypes could lend enumerable keys, so they don't.
  const proto: unknown = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) return writeFlatKeys(values, Object.keys(obj));
  let count = 0;
  for (const k in values) if (values[k] !== undefined) count++; // JSON leaves these out, and so do we
  w.uint(count);
  for (const k in values) writeFlatEntry(k, values[k]);
}

function writeFlatKeys(values: Record<string, unknown>, keys: string[]): void {
  let count = 0;
  for (const k of keys) if (values[k] !== undefined) count++;
  w.uint(count);
  for (const k of keys) writeFlatEntry(k, values[k]);
}

function writeFlatEntry(k: string, v: unknown): void {
  if (v === undefined) return;
  const isNumber = typeof v === 'number';
  if (!isNumber && typeof v !== 'string') throw NOT_BINARY;
  if (k === '__proto__') throw NOT_BINARY; // an own property of that name: JSON keeps it, a reader's object would not
  const code = FLAT_KEY_CODES.get(k) ?? 0;
  w.uint(code * 2 + (isNumber ? 1 : 0));
  if (code === 0) w.string(k);
  if (isNumber) w.uint(v);
  else w.string(v as string);
}

/** Reads format 3's header, bounds-checked: damage is a ValueDecodeError naming what broke. */
class ByteReader {
  pos = 2;
  constructor(readonly buf: Buffer) {}

  private short(what: string): never {
    throw new ValueDecodeError(`value format 3: ${what} runs past the value (${this.buf.length} bytes)`);
  }

  byte(what: string): number {
    if (this.pos >= this.buf.length) this.short(what);
    return this.buf[this.pos++]!;
  }

  uint(what: string): number {
    const b = this.buf;
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= b.length) this.short(what);
      const c = b[this.pos++]!;
      v += (c & 0x7f) * scale;
      if (c < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) break;
        return v;
      }
      scale *= 0x80;
    }
    throw new ValueDecodeError(`value format 3: ${what} is not a valid number`);
  }

  /** A count of entries that take at least one byte each (so a damaged count cannot ask for more). */
  count(what: string): number {
    const n = this.uint(what);
    if (n > this.buf.length - this.pos) this.short(what);
    return n;
  }

  string(what: string): string {
    const n = this.uint(what);
    if (n > this.buf.length - this.pos) this.short(what);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  skipString(what: string): void {
    const n = this.uint(what);
    if (n > this.buf.length - this.pos) this.short(what);
    this.pos += n;
  }

  coded(table: readonly string[], what: string): string {
    const code = this.uint(what);
    if (code === 0) return this.string(what);
    const s = table[code - 1];
    if (s === undefined) throw new ValueDecodeError(`value format 3: ${what} has an unknown code ${code}`);
    return s;
  }
}

/** Format 3's header as the ValueHeader the JSON of formats 1 and 2 gives. */
export function decodeBinaryHeader(buf: Buffer): { header: ValueHeader; bodyStart: number } {
  if (buf.length < 2) throw new ValueDecodeError(`value is ${buf.length} bytes, too short`);
  const r = new ByteReader(buf);
  const flags = buf[1]!;
  const method = r.coded(METHODS, 'method');
  if (r.pos + 8 > buf.length) throw new ValueDecodeError(`value format 3: startNs runs past the value (${buf.length} bytes)`);
  const startNs = buf.readBigUInt64BE(r.pos).toString();
  r.pos += 8;
  const durationNs = r.uint('durationNs');
  const endCode = r.byte('end');
  const end = ENDS[endCode];
  if (end === undefined) throw new ValueDecodeError(`value format 3: end has an unknown code ${endCode}`);
  const status: ValueHeader['status'] = { code: r.uint('status code'), message: r.string('status message') };
  if (flags & DETAILS) status.details = r.uint('status details length');
  const tagScale = buf[0] === VALUE_FORMAT_PACKED ? 8 : 4;
  const bodies = (what: string): ValueHeader['requests'] => {
    const n = r.count(what);
    const out: ValueHeader['requests'] = new Array(n);
    for (let i = 0; i < n; i++) {
      const offsetNs = r.uint(what);
      const tag = r.uint(what);
      const length = Math.floor(tag / tagScale);
      const compressed = (tag & 1) as 0 | 1;
      const packed = tagScale === 8 && (tag & 4) !== 0;
      if (tag & 2) {
        if (!(flags & FILES)) throw new ValueDecodeError(`value format 3: a body is in a file, and the flags say none is`);
        // A packed body in a file (recording format 5): its packed length, then the file's name.
        if (packed) {
          const packedLength = r.uint(what);
          out[i] = [offsetNs, length, compressed, r.string(what), packedLength];
        } else {
          out[i] = [offsetNs, length, compressed, r.string(what)];
        }
      } else if (packed) {
        out[i] = [offsetNs, length, compressed, undefined, r.uint(what)];
      } else {
        out[i] = [offsetNs, length, compressed];
      }
    }
    return out;
  };
  const requests = bodies('requests');
  const responses = bodies('responses');
  const requestMetadata = readHeaders(r, 'request metadata');
  const responseHeaders = readHeaders(r, 'response headers');
  const responseTrailers = readHeaders(r, 'response trailers');
  const header: ValueHeader = {
    method,
    startNs,
    durationNs,
    end: end as ValueHeader['end'],
    status,
    requests,
    responses,
    requestMetadata,
    responseHeaders,
    responseTrailers,
    requestBytes: r.uint('requestBytes'),
    responseBytes: r.uint('responseBytes'),
    ids: readFlat(r, 'ids') as CallIds,
  };
  if (flags & TRUNCATED) header.truncated = true;
  if (flags & PEER) header.peer = readFlat(r, 'peer');
  if (flags & AUTHORITY) header.authority = r.string('authority');
  if (flags & TRACEPARENT) header.propagatedTraceparent = r.string('propagatedTraceparent');
  if (flags & FAULT) {
    const json = r.string('fault');
    try {
      header.fault = JSON.parse(json) as ValueHeader['fault'];
    } catch (err) {
      throw new ValueDecodeError(`value format 3: fault is not JSON: ${(err as Error).message}`);
    }
  }
  if (flags & REDACTED) {
    const n = r.count('redacted');
    const redacted: string[] = new Array(n);
    for (let i = 0; i < n; i++) redacted[i] = r.string('redacted');
    header.redacted = redacted;
  }
  return { header, bodyStart: r.pos };
}

/**
 * Header lists read before, by their stored bytes: a recording repeats the same few lists in
 * thousands of calls, and replay holds every call of a recording in memory. A list read again is
 * the same frozen array, not a new one with new strings (code that changed a shared list fails
 * loudly instead of changing other calls). Bounded: emptied when full.
 */
const sharedLists = new Map<string, Header[]>();
const SHARED_LISTS = 1024;
/** Lists stored in more bytes than this are read each time (rare, and they rarely repeat). */
const SHARED_LIST_MAX_BYTES = 512;

function readHeaders(r: ByteReader, what: string): Header[] {
  const start = r.pos;
  // Walked once without reading a string, to find its bytes (and refuse damage as reading would).
  skipHeaders(r, what);
  const end = r.pos;
  const key = end - start <= SHARED_LIST_MAX_BYTES ? r.buf.toString('latin1', start, end) : undefined;
  const known = key === undefined ? undefined : sharedLists.get(key);
  if (known !== undefined) return known;
  r.pos = start;
  const list = readHeaderList(r, what);
  if (key === undefined) return list;
  for (const h of list) Object.freeze(h);
  Object.freeze(list);
  if (sharedLists.size >= SHARED_LISTS) sharedLists.clear();
  sharedLists.set(key, list);
  return list;
}

function skipHeaders(r: ByteReader, what: string): void {
  const n = r.count(what);
  for (let i = 0; i < n; i++) {
    const code = r.uint(what);
    if (code === 0) {
      r.skipString(what);
      r.skipString(what);
    } else if (code > LAST_HEADER_CODE) {
      throw unknownHeaderCode(what, code);
    } else if (code > HEADER_PAIRS.length) {
      r.skipString(what);
    }
  }
}

const unknownHeaderCode = (what: string, code: number) => new ValueDecodeError(`value format 3: ${what} has an unknown header code ${code}`);

function readHeaderList(r: ByteReader, what: string): Header[] {
  const n = r.count(what);
  const out: Header[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const code = r.uint(what);
    if (code === 0) {
      const name = r.string(what);
      out[i] = [name, r.string(what)];
    } else if (code <= HEADER_PAIRS.length) {
      const [name, value] = HEADER_PAIRS[code - 1]!;
      out[i] = [name, value];
    } else if (code <= LAST_HEADER_CODE) {
      out[i] = [HEADER_NAMES[code - HEADER_PAIRS.length - 1]!, r.string(what)];
    } else {
      throw unknownHeaderCode(what, code);
    }
  }
  return out;
}

function readFlat(r: ByteReader, what: string): Record<string, string | number> {
  const n = r.count(what);
  const out: Record<string, string | number> = {};
  for (let i = 0; i < n; i++) {
    const tag = r.uint(what);
    const code = Math.floor(tag / 2);
    let key: string;
    if (code === 0) key = r.string(what);
    else if (code <= FLAT_KEYS.length) key = FLAT_KEYS[code - 1]!;
    else throw new ValueDecodeError(`value format 3: ${what} has an unknown key code ${code}`);
    if (key === '__proto__') throw new ValueDecodeError(`value format 3: ${what} has the key __proto__`);
    out[key] = tag & 1 ? r.uint(what) : r.string(what);
  }
  return out;
}

/** Whether a format 3 value names a body file (its flags byte says), without decoding it. */
export function binaryNamesBodyFiles(value: Uint8Array): boolean {
  return value.length < 2 || (value[1]! & FILES) !== 0;
}
