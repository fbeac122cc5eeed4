import { randomBytes } from 'node:crypto';
import type { CallEnd, CallRecord, Header, TimedMessage } from '../call.js';
import type { CallIds } from '../cri/ids.js';
import { decodeMessage } from '../cri/decode.js';
import { callView, type CallView, type MessageDecoder } from './call-view.js';
import { RecentBodiesByType, REMEMBER_FROM_BYTES } from './recent-bodies.js';
import type { StoredCall } from './stored-call.js';

/**
 * The JSONL exchange format: one call per line. Everything needed to rebuild the call exactly is
 * at the top level (bodies and status details as base64, startNs as a decimal string); `view`
 * holds the decoded form for people and is ignored on import.
 */
export interface JsonlCall {
  method: string;
  startNs: string;
  durationNs: number;
  end: CallEnd;
  status: { code: number; message: string; details?: string };
  requests: JsonlMessage[];
  responses: JsonlMessage[];
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
  view?: CallView;
}

interface JsonlMessage {
  offsetNs: number;
  data: string;
  compressed?: true;
}

export class JsonlError extends Error {}

/** How a line gets its text of a body: base64 and the decoded view. */
interface BodyText {
  base64(data: Buffer): string;
  decode: MessageDecoder;
}

const plainText: BodyText = { base64: (data) => data.toString('base64'), decode: decodeMessage };

/** One call as one line of JSON (no newline). */
export function callToJsonl(call: StoredCall, withView = true): string {
  return jsonlLine(call, withView, plainText);
}

const NEWLINE = Buffer.from('\n');

/**
 * Lines for a whole recording read in order (`critap export`): the same bytes as callToJsonl plus
 * a newline, but the text of a large body (its base64, its decoded view as JSON) is made once
 * while the body is one of the last few of its kind. A kubelet relists every second with answers
 * of 60-250 KB that rarely change: decoding them, JSON.stringify of the views and encoding the
 * text as UTF-8 were nearly all of an export's time.
 *
 * How: such a body's base64 and view enter the line as a placeholder string, and the text
 * JSON.stringify makes is cut at the placeholders and joined with the bytes kept for each. The
 * placeholder holds a random tag of this exporter; a recorded string that happened to contain it
 * would show as one placeholder too many or out of order (either check alone catches the forgeries
 * in jsonl-lines.test.ts), and that line is made the plain way.
 */
export class JsonlLines {
  private readonly viewsOf = new RecentBodiesByType<Buffer>();
  /** One list for every body's base64, whatever its type: as many as the views of 4 types. */
  private readonly base64Of = new RecentBodiesByType<Buffer>(16);
  /** The parts of the line being made, in the order their placeholders were handed out. */
  private parts: Buffer[] = [];
  private readonly text: BodyText = {
    base64: (data) => {
      if (data.length < REMEMBER_FROM_BYTES) return data.toString('base64');
      return this.placeholder(this.base64Of.get('', data, () => Buffer.from(JSON.stringify(data.toString('base64')))));
    },
    decode: (typeName, data) => {
      if (data.length < REMEMBER_FROM_BYTES) return decodeMessage(typeName, data);
      return this.placeholder(this.viewsOf.get(typeName, data, () => Buffer.from(JSON.stringify(decodeMessage(typeName, data)))));
    },
  };

  /** `tag` is random unless a test picks it. */
  constructor(private readonly tag = `@critap-part-${randomBytes(9).toString('base64url')}-`) {}

  /** One call as one line of JSON, with its newline. */
  line(call: StoredCall, withView = true): Buffer {
    this.parts = [];
    const pieces = jsonlLine(call, withView, this.text).split(`"${this.tag}`);
    const out: Buffer[] = [Buffer.from(pieces[0]!)];
    if (pieces.length - 1 === this.parts.length) {
      for (let i = 1; i < pieces.length; i++) {
        const piece = pieces[i]!;
        const end = piece.indexOf('@"');
        if (end < 0 || piece.slice(0, end) !== String(i - 1)) break;
        out.push(this.parts[i - 1]!, Buffer.from(piece.slice(end + 2)));
      }
    }
    if (out.length !== 2 * pieces.length - 1) return Buffer.from(callToJsonl(call, withView) + '\n');
    out.push(NEWLINE);
    return Buffer.concat(out);
  }

  private placeholder(part: Buffer): string {
    this.parts.push(part);
    return `${this.tag}${this.parts.length - 1}@`;
  }
}

function jsonlLine(call: StoredCall, withView: boolean, text: BodyText): string {
  const message = (m: TimedMessage): JsonlMessage => {
    const out: JsonlMessage = { offsetNs: m.offsetNs, data: text.base64(m.data) };
    if (m.compressed) out.compressed = true;
    return out;
  };
  const line: JsonlCall = {
    method: call.method,
    startNs: call.startNs.toString(),
    durationNs: call.durationNs,
    end: call.end,
    status: { code: call.status.code, message: call.status.message },
    requests: call.requests.map(message),
    responses: call.responses.map(message),
    requestMetadata: call.requestMetadata,
    responseHeaders: call.responseHeaders,
    responseTrailers: call.responseTrailers,
    requestBytes: call.requestBytes,
    responseBytes: call.responseBytes,
    ids: call.ids,
  };
  if (call.status.details) line.status.details = call.status.details.toString('base64');
  if (call.truncated) line.truncated = true;
  if (call.peer) line.peer = call.peer;
  if (call.authority !== undefined) line.authority = call.authority;
  if (call.propagatedTraceparent !== undefined) line.propagatedTraceparent = call.propagatedTraceparent;
  if (call.fault !== undefined) line.fault = call.fault;
  if (call.redacted) line.redacted = call.redacted;
  if (withView) line.view = callView(call, text.decode);
  return JSON.stringify(line);
}

const ENDS: readonly CallEnd[] = ['trailers', 'client-reset', 'server-reset', 'connection-closed', 'refused'];

function fail(lineNo: number, what: string): never {
  throw new JsonlError(`line ${lineNo}: ${what}`);
}

function num(v: unknown, lineNo: number, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(lineNo, `"${field}" must be a number`);
  return v;
}

function bytes(v: unknown, lineNo: number, field: string): Buffer {
  if (typeof v !== 'string' || v.length % 4 !== 0) fail(lineNo, `"${field}" must be base64 text`);
  const data = Buffer.from(v, 'base64');
  // Node's decoder passes over what is not base64 instead of failing (and reads base64url's - and
  // _ as + and /), so such text comes out short. Checked this way rather than with a regular
  // expression over the text first, which was a tenth of an import of relist answers of 100s of KB.
  if (data.length !== base64Length(v)) fail(lineNo, `"${field}" must be base64 text`);
  return data;
}

/** How many bytes base64 text of this length (a multiple of 4) holds. */
const base64Length = (text: string) => (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);

function headers(v: unknown, lineNo: number, field: string): Header[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((h) => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string')) {
    fail(lineNo, `"${field}" must be a list of [name, value] string pairs`);
  }
  return v as Header[];
}

function messages(v: unknown, lineNo: number, field: string): TimedMessage[] {
  if (!Array.isArray(v)) fail(lineNo, `"${field}" must be a list`);
  return v.map((m: unknown, i) => {
    if (typeof m !== 'object' || m === null) fail(lineNo, `"${field}[${i}]" must be an object`);
    const o = m as Record<string, unknown>;
    const out: TimedMessage = { offsetNs: num(o['offsetNs'], lineNo, `${field}[${i}].offsetNs`), data: bytes(o['data'], lineNo, `${field}[${i}].data`) };
    if (o['compressed'] === true) out.compressed = true;
    return out;
  });
}

/** Parses one exported line back into a call, checking every field it relies on. */
export function callFromJsonl(text: string, lineNo: number): CallRecord & { ids: CallIds; redacted?: string[] } {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    fail(lineNo, `not JSON (${(err as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) fail(lineNo, 'not a JSON object');
  if (typeof o['method'] !== 'string' || o['method'] === '') fail(lineNo, '"method" must be a non-empty string');
  if (typeof o['startNs'] !== 'string' || !/^\d+$/.test(o['startNs'])) fail(lineNo, '"startNs" must be a decimal string of nanoseconds');
  const end = o['end'] as CallEnd;
  if (!ENDS.includes(end)) fail(lineNo, `"end" must be one of ${ENDS.join(', ')}`);
  const st = o['status'] as Record<string, unknown> | undefined;
  if (typeof st !== 'object' || st === null) fail(lineNo, '"status" must be an object');
  if (typeof st['message'] !== 'string') fail(lineNo, '"status.message" must be a string');
  const ids = o['ids'] ?? {};
  if (typeof ids !== 'object' || ids === null || Array.isArray(ids)) fail(lineNo, '"ids" must be an object');
  const call: CallRecord & { ids: CallIds; redacted?: string[] } = {
    method: o['method'],
    startNs: BigInt(o['startNs']),
    durationNs: num(o['durationNs'], lineNo, 'durationNs'),
    requests: messages(o['requests'], lineNo, 'requests'),
    responses: messages(o['responses'], lineNo, 'responses'),
    status: { code: num(st['code'], lineNo, 'status.code'), message: st['message'] },
    end,
    requestMetadata: headers(o['requestMetadata'], lineNo, 'requestMetadata'),
    responseHeaders: headers(o['responseHeaders'], lineNo, 'responseHeaders'),
    responseTrailers: headers(o['responseTrailers'], lineNo, 'responseTrailers'),
    requestBytes: num(o['requestBytes'], lineNo, 'requestBytes'),
    responseBytes: num(o['responseBytes'], lineNo, 'responseBytes'),
    ids: ids as CallIds,
  };
  if (st['details'] !== undefined) call.status.details = bytes(st['details'], lineNo, 'status.details');
  if (o['truncated'] === true) call.truncated = true;
  if (o['peer'] !== undefined) {
    if (typeof o['peer'] !== 'object' || o['peer'] === null) fail(lineNo, '"peer" must be an object');
    call.peer = o['peer'] as CallRecord['peer'];
  }
  if (o['authority'] !== undefined) {
    if (typeof o['authority'] !== 'string') fail(lineNo, '"authority" must be a string');
    call.authority = o['authority'];
  }
  if (o['fault'] !== undefined) {
    const f = o['fault'] as Record<string, unknown> | null;
    if (typeof f !== 'object' || f === null || typeof f['rule'] !== 'string' || typeof f['ruleId'] !== 'number' || !Array.isArray(f['actions'])) fail(lineNo, '"fault" must be {ruleId, rule, actions}');
    call.fault = { ruleId: f['ruleId'] as number, rule: f['rule'] as string, actions: (f['actions'] as unknown[]).map(String) };
  }
  if (o['propagatedTraceparent'] !== undefined) {
    if (typeof o['propagatedTraceparent'] !== 'string') fail(lineNo, '"propagatedTraceparent" must be a string');
    call.propagatedTraceparent = o['propagatedTraceparent'];
  }
  if (o['redacted'] !== undefined) {
    if (!Array.isArray(o['redacted']) || !o['redacted'].every((x) => typeof x === 'string')) fail(lineNo, '"redacted" must be a list of strings');
    call.redacted = o['redacted'] as string[];
  }
  return call;
}
