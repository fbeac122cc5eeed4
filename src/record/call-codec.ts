import type { CallRecord, Header, TimedMessage } from '../call.js';
import type { CallIds } from '../cri/ids.js';
import type { StoredCall } from './stored-call.js';

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
 * the value. Format 1 is written when no body is in a file, and both are read.
 */
const VALUE_FORMAT = 1;
const VALUE_FORMAT_FILES = 2;

type BodyRef = [offsetNs: number, length: number, compressed: 0 | 1, file?: string];

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

export class ValueDecodeError extends Error {}

export function encodeCallValue(call: CallRecord, ids: CallIds, redacted: string[] | undefined): Buffer {
  const bodies: Buffer[] = [];
  let inFiles = false;
  const ref = (m: TimedMessage): BodyRef => {
    const file = m.spooled?.file;
    if (file !== undefined) {
      inFiles = true;
      return [m.offsetNs, m.spooled!.length, m.compressed ? 1 : 0, file];
    }
    bodies.push(m.data);
    return [m.offsetNs, m.data.length, m.compressed ? 1 : 0];
  };
  const requests = call.requests.map(ref);
  const responses = call.responses.map(ref);
  const details = call.status.details;
  if (details) bodies.push(details);
  // One literal with every key in its stored order (JSON.stringify leaves out the undefined
  // ones): the same bytes as adding the optional keys one by one, without reshaping the object.
  const header: ValueHeader = {
    method: call.method,
    startNs: call.startNs.toString(),
    durationNs: call.durationNs,
    end: call.end,
    status: { code: call.status.code, message: call.status.message, details: details ? details.length : undefined },
    requests,
    responses,
    requestMetadata: call.requestMetadata,
    responseHeaders: call.responseHeaders,
    responseTrailers: call.responseTrailers,
    requestBytes: call.requestBytes,
    responseBytes: call.responseBytes,
    ids,
    truncated: call.truncated ? true : undefined,
    peer: call.peer ? call.peer : undefined,
    authority: call.authority,
    propagatedTraceparent: call.propagatedTraceparent,
    fault: call.fault,
    redacted: redacted && redacted.length > 0 ? redacted : undefined,
  };

  // Written straight into the value: no intermediate Buffer of the JSON (one per call, for GC).
  const json = JSON.stringify(header);
  const jsonLength = Buffer.byteLength(json, 'utf8');
  let total = 5 + jsonLength;
  for (const b of bodies) total += b.length;
  const out = Buffer.allocUnsafe(total);
  out[0] = inFiles ? VALUE_FORMAT_FILES : VALUE_FORMAT;
  out.writeUInt32BE(jsonLength, 1);
  out.write(json, 5, jsonLength, 'utf8');
  let pos = 5 + jsonLength;
  for (const b of bodies) pos += b.copy(out, pos);
  return out;
}

/** Parses only the JSON header (cheap; used by retention and index maintenance). */
export function decodeValueHeader(value: Uint8Array): { header: ValueHeader; bodyStart: number } {
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

/** False for a value that names no body file (format 1), without parsing it. */
export function mayNameBodyFiles(value: Uint8Array): boolean {
  return value[0] !== VALUE_FORMAT;
}

/** The bodies a value keeps in files (what retention removes with the call). */
export function bodyFilesOf(header: ValueHeader): Array<{ file: string; length: number }> {
  const out: Array<{ file: string; length: number }> = [];
  for (const list of [header.requests, header.responses]) {
    for (const r of list) if (Array.isArray(r) && typeof r[3] === 'string') out.push({ file: r[3], length: Number(r[1]) || 0 });
  }
  return out;
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
  const body = ([offsetNs, len, compressed, file]: BodyRef): TimedMessage => {
    let data: Buffer;
    if (file === undefined) data = take(len);
    else if (typeof file !== 'string' || !Number.isInteger(len) || len < 0) throw new ValueDecodeError(`a body reference names no valid file`);
    else if (!readFile) throw new ValueDecodeError(`a body is kept in the file ${file}, and no reader of body files was given`);
    else data = readFile(file, len);
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
