import type { CallRecord, Header, TimedMessage } from '../call.js';
import type { CallIds } from '../cri/ids.js';
import { binaryNamesBodyFiles, decodeBinaryHeader, encodeBinaryValue, isBinaryValue } from './binary-value.js';
import { unpackBody } from './packed-bodies.js';
import { BODIES_DIR, BodyFileError } from './body-store.js';
import { JsonBytes } from './json-bytes.js';
import type { StoredCall } from './stored-call.js';
import { ValueDecodeError } from './value-error.js';

export { ValueDecodeError };

/**
 * The value stored for one call:
 *
 *   [0]        value format (1)
 *   [1..4]     header length H, uint32 big-endian
 *   [5..5+H)   header: JSON of everything except bodies; each body is [offsetNs, length, compressed]
 *   [5+H..)    bodies back to back: requests, responses, then status details
 *
 * Bodies are copied once into the value and sliced out on read (no base64 on the write path),
 * and the header alone can be parsed (retention only needs method and ids).
 *
 * Value format 2 is the same, except that a body reference may carry a fourth element: the name
 * of the file in bodies/ that holds that body (src/record/body-store.ts); such a body is not in
 * the value. Format 1 is written when no body is in a file.
 *
 * Value format 3 (binary-value.ts) holds the same header in binary, a tenth of the bytes; it is
 * what is written now (recording format version 3). Formats 1 and 2 are still written for a call
 * format 3 cannot hold exactly (see there), and all three are read, into the same ValueHeader.
 */
const VALUE_FORMAT = 1;
const VALUE_FORMAT_FILES = 2;

/**
 * A body: its length, in a file when `file` is set, packed (stored in `packedLength` bytes,
 * packed-bodies.ts) when that is; both for a repeated body kept once (repeated-bodies.ts).
 */
type BodyRef = [offsetNs: number, length: number, compressed: 0 | 1, file?: string, packedLength?: number];

/** Reads a body stored in a file (BodyFileError when it cannot). */
export type BodyFileReader = (file: string, length: number) => Buffer;

export interface ValueHeader {
  method: string;
  startNs: string;
  durationNs: number;
  end: CallRecord['end'];
  status: { code: number; message: string; details?: number };
  requests: BodyRef[];
  responses: BodyRef[];
  requestMetadata: Header[];
  responseHeaders: Header[];
  responseTrailers: Header[];
  requestBytes: number;
  responseBytes: number;
  truncated?: true;
  peer?: CallRecord['peer'];
  authority?: string;
  propagatedTraceparent?: string;
  fault?: CallRecord['fault'];
  ids: CallIds;
  redacted?: string[];
}

/** Scratch space the value header is written into, reused call after call (one thread, synchronous). */
const scratch = new JsonBytes();

export function encodeCallValue(call: CallRecord, ids: CallIds, redacted: string[] | undefined): Buffer {
  return encodeBinaryValue(call, ids, redacted) ?? encodeJsonValue(call, ids, redacted);
}

/** Value format 1 or 2 (JSON header); exported for tests that make values as older critaps did. */
export function encodeJsonValue(call: CallRecord, ids: CallIds, redacted: string[] | undefined): Buffer {
  const w = scratch;
  w.pos = 0;
  // The header's keys in their stored order (the order of ValueHeader above, as the literal that
  // JSON.stringify was once given wrote them); optional ones only when set.
  w.raw('{"method":');
  w.string(call.method);
  w.raw(',"startNs":"');
  w.raw(call.startNs.toString());
  w.raw('","durationNs":');
  w.number(call.durationNs);
  w.raw(',"end":');
  w.string(call.end);
  w.raw(',"status":{"code":');
  w.number(call.status.code);
  w.raw(',"message":');
  w.string(call.status.message);
  const details = call.status.details;
  if (details) {
    w.raw(',"details":');
    w.number(details.length);
  }
  w.raw('},"requests":');
  let bodyBytes = details ? details.length : 0;
  let inFiles = false;
  for (let list = 0; list < 2; list++) {
    const messages = list === 0 ? call.requests : call.responses;
    if (list === 1) w.raw(',"responses":');
    w.byte(0x5b);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (i > 0) w.byte(0x2c);
      w.byte(0x5b);
      w.number(m.offsetNs);
      w.byte(0x2c);
      const file = m.spooled?.file;
      w.number(file !== undefined ? m.spooled!.length : m.data.length);
      w.raw(m.compressed ? ',1' : ',0');
      if (file !== undefined) {
        inFiles = true;
        w.byte(0x2c);
        w.string(file);
        const packedLength = m.spooled!.packedLength;
        if (packedLength !== undefined) {
          w.byte(0x2c);
          w.number(packedLength);
        }
      } else {
        bodyBytes += m.data.length;
      }
      w.byte(0x5d);
    }
    w.byte(0x5d);
  }
  w.raw(',"requestMetadata":');
  writeHeaders(w, call.requestMetadata, 0);
  w.raw(',"responseHeaders":');
  writeHeaders(w, call.responseHeaders, 1);
  w.raw(',"responseTrailers":');
  writeHeaders(w, call.responseTrailers, 2);
  w.raw(',"requestBytes":');
  w.number(call.requestBytes);
  w.raw(',"responseBytes":');
  w.number(call.responseBytes);
  w.raw(',"ids":');
  writeFlat(w, ids);
  if (call.truncated) w.raw(',"truncated":true');
  if (call.peer) {
    w.raw(',"peer":');
    writeFlat(w, call.peer);
  }
  optionalString(w, ',"authority":', call.authority);
  optionalString(w, ',"propagatedTraceparent":', call.propagatedTraceparent);
  if (call.fault !== undefined) {
    w.raw(',"fault":');
    w.value(call.fault);
  }
  if (redacted && redacted.length > 0) {
    w.raw(',"redacted":');
    w.strings(redacted);
  }
  w.byte(0x7d);

  const jsonLength = w.pos;
  const out = Buffer.allocUnsafe(5 + jsonLength + bodyBytes);
  out[0] = inFiles ? VALUE_FORMAT_FILES : VALUE_FORMAT;
  out.writeUInt32BE(jsonLength, 1);
  w.buf.copy(out, 5, 0, jsonLength);
  let pos = 5 + jsonLength;
  for (const m of call.requests) if (m.spooled?.file === undefined) pos += m.data.copy(out, pos);
  for (const m of call.responses) if (m.spooled?.file === undefined) pos += m.data.copy(out, pos);
  if (details) details.copy(out, pos);
  return out;
}

/**
 * The JSON of the last header list written in each place (request metadata, response headers,
 * trailers), by the list itself: calls unpacked from one batch share a list that repeats
 * (observe/transfer.ts), so most calls copy their lists' bytes instead of writing them. Header
 * lists are never changed in place (redaction copies them).
 */
const lastLists: Array<readonly Header[] | undefined> = [undefined, undefined, undefined];
const lastJson: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)];
const lastJsonLength = [0, 0, 0];

/** A header list: an array of [name, value] pairs; `place` names where it is, for the cache above. */
function writeHeaders(w: JsonBytes, headers: readonly Header[], place: number): void {
  if (headers === lastLists[place]) {
    const n = lastJsonLength[place]!;
    w.room(n);
    lastJson[place]!.copy(w.buf, w.pos, 0, n);
    w.pos += n;
    return;
  }
  const start = w.pos;
  writeHeadersJson(w, headers);
  const n = w.pos - start;
  if (lastJson[place]!.length < n) lastJson[place] = Buffer.allocUnsafe(Math.max(n, 256));
  w.buf.copy(lastJson[place]!, 0, start, w.pos);
  lastJsonLength[place] = n;
  lastLists[place] = headers;
}

function writeHeadersJson(w: JsonBytes, headers: readonly Header[]): void {
  w.byte(0x5b);
  for (let i = 0; i < headers.length; i++) {
    if (i > 0) w.byte(0x2c);
    const h = headers[i]!;
    if (h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string') {
      w.value(h); // not the shape the type says: JSON.stringify's bytes for whatever it is
      continue;
    }
    w.byte(0x5b);
    w.string(h[0]);
    w.byte(0x2c);
    w.string(h[1]);
    w.byte(0x5d);
  }
  w.byte(0x5d);
}

/**
 * A flat object of strings and numbers (a call's ids, its peer), key by key in its own order;
 * any other shape goes through JSON.stringify.
 */
function writeFlat(w: JsonBytes, obj: object): void {
  const keys = Object.keys(obj);
  const values = obj as Record<string, unknown>;
  for (const k of keys) {
    const v = values[k];
    if (v !== undefined && typeof v !== 'string' && typeof v !== 'number') {
      w.value(obj);
      return;
    }
  }
  w.byte(0x7b);
  let first = true;
  for (const k of keys) {
    const v = values[k];
    if (v === undefined) continue; // JSON.stringify leaves these out
    if (!first) w.byte(0x2c);
    first = false;
    w.string(k);
    w.byte(0x3a);
    if (typeof v === 'string') w.string(v);
    else w.number(v as number);
  }
  w.byte(0x7d);
}

/** `key` (its JSON, comma first) and the value, unless undefined, as the old literal did. */
function optionalString(w: JsonBytes, key: string, v: string | undefined): void {
  if (v === undefined) return;
  w.raw(key);
  if (typeof v === 'string') w.string(v);
  else w.value(v);
}

/** Parses only the header (cheap; used by retention and index maintenance). */
export function decodeValueHeader(value: Uint8Array): { header: ValueHeader; bodyStart: number } {
  if (isBinaryValue(value)) return decodeBinaryHeader(Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length));
  if (value.length < 5) throw new ValueDecodeError(`value is ${value.length} bytes, too short`);
  if (value[0] !== VALUE_FORMAT && value[0] !== VALUE_FORMAT_FILES) throw new ValueDecodeError(`unknown value format ${value[0]}`);
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
  const len = buf.readUInt32BE(1);
  if (5 + len > buf.length) throw new ValueDecodeError(`header length ${len} runs past the value (${buf.length} bytes)`);
  let header: ValueHeader;
  try {
    header = JSON.parse(buf.toString('utf8', 5, 5 + len)) as ValueHeader;
  } catch (err) {
    throw new ValueDecodeError(`header is not JSON: ${(err as Error).message}`);
  }
  if (typeof header?.method !== 'string' || typeof header.startNs !== 'string' || !Array.isArray(header.requests) || !Array.isArray(header.responses)) {
    throw new ValueDecodeError('header lacks method, startNs or body lists');
  }
  return { header, bodyStart: 5 + len };
}

/** False for a value that names no body file (format 1, or 3 whose flags say so), without parsing it. */
export function mayNameBodyFiles(value: Uint8Array): boolean {
  if (isBinaryValue(value)) return binaryNamesBodyFiles(value);
  return value[0] !== VALUE_FORMAT;
}

/**
 * The bodies a value keeps in files (what retention removes with the call, unless other calls
 * name them too: shared-files.ts), each with the bytes its file holds.
 */
export function bodyFilesOf(header: ValueHeader): Array<{ file: string; length: number }> {
  const out: Array<{ file: string; length: number }> = [];
  for (const list of [header.requests, header.responses]) {
    for (const r of list) if (Array.isArray(r) && typeof r[3] === 'string') out.push({ file: r[3], length: Number(r[4] ?? r[1]) || 0 });
  }
  return out;
}

/** A packed body file read and unpacked; a file that does not unpack is a lost body (BodyFileError), as a missing one is. */
function unpackFileBody(file: string, readFile: BodyFileReader, length: number, packedLength: number): Buffer {
  if (!Number.isInteger(packedLength) || packedLength < 0) throw new ValueDecodeError(`a body reference gives no valid packed length for ${file}`);
  const stored = readFile(file, packedLength);
  try {
    return unpackBody(stored, length);
  } catch (err) {
    throw new BodyFileError(file, `its body file ${BODIES_DIR}/${file} does not unpack (${(err as Error).message})`);
  }
}

/**
 * Full decode. Bodies are views into `value` (no copy); callers that keep them beyond the value's
 * life copy. Bodies kept in files are read with `readFile` (without it, such a value does not
 * decode); its BodyFileError goes to the caller.
 */
export function decodeCallValue(key: string, value: Uint8Array, readFile?: BodyFileReader): StoredCall {
  const { header: h, bodyStart } = decodeValueHeader(value);
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
  let pos = bodyStart;
  const take = (len: number): Buffer => {
    if (!Number.isInteger(len) || len < 0 || pos + len > buf.length) throw new ValueDecodeError(`body of ${len} bytes runs past the value`);
    const b = buf.subarray(pos, pos + len);
    pos += len;
    return b;
  };
  const body = ([offsetNs, len, compressed, file, packedLength]: BodyRef): TimedMessage => {
    let data: Buffer;
    if (file === undefined) data = packedLength === undefined ? take(len) : unpackBody(take(packedLength), len);
    else if (typeof file !== 'string' || !Number.isInteger(len) || len < 0) throw new ValueDecodeError(`a body reference names no valid file`);
    else if (!readFile) throw new ValueDecodeError(`a body is kept in the file ${file}, and no reader of body files was given`);
    else if (packedLength === undefined) data = readFile(file, len);
    else data = unpackFileBody(file, readFile, len, packedLength);
    const m: TimedMessage = { offsetNs, data };
    if (compressed) m.compressed = true;
    return m;
  };
  let startNs: bigint;
  try {
    startNs = BigInt(h.startNs);
  } catch {
    throw new ValueDecodeError(`startNs "${h.startNs}" is not an integer`);
  }
  const call: StoredCall = {
    key,
    method: h.method,
    startNs,
    durationNs: h.durationNs,
    requests: h.requests.map(body),
    responses: h.responses.map(body),
    status: { code: h.status.code, message: h.status.message },
    end: h.end,
    requestMetadata: h.requestMetadata ?? [],
    responseHeaders: h.responseHeaders ?? [],
    responseTrailers: h.responseTrailers ?? [],
    requestBytes: h.requestBytes,
    responseBytes: h.responseBytes,
    ids: h.ids ?? {},
  };
  if (h.status.details !== undefined) call.status.details = take(h.status.details);
  if (pos !== buf.length) throw new ValueDecodeError(`${buf.length - pos} stray bytes after the bodies`);
  if (h.truncated) call.truncated = true;
  if (h.peer) call.peer = h.peer;
  if (h.authority !== undefined) call.authority = h.authority;
  if (typeof h.propagatedTraceparent === 'string') call.propagatedTraceparent = h.propagatedTraceparent;
  if (h.fault && typeof h.fault === 'object') call.fault = h.fault;
  if (h.redacted) call.redacted = h.redacted;
  return call;
}
