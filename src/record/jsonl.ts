import type { CallEnd, CallRecord, Header, TimedMessage } from '../call.js';
import type { CallIds } from '../cri/ids.js';
import { callView, type CallView } from './call-view.js';
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

const toJsonlMessage = (m: TimedMessage): JsonlMessage => {
  const out: JsonlMessage = { offsetNs: m.offsetNs, data: m.data.toString('base64') };
  if (m.compressed) out.compressed = true;
  return out;
};

export function callToJsonl(call: StoredCall, withView = true): string {
  const line: JsonlCall = {
    method: call.method,
    startNs: call.startNs.toString(),
    durationNs: call.durationNs,
    end: call.end,
    status: { code: call.status.code, message: call.status.message },
    requests: call.requests.map(toJsonlMessage),
    responses: call.responses.map(toJsonlMessage),
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
  if (withView) line.view = callView(call);
  return JSON.stringify(line);
}

const ENDS: readonly CallEnd[] = ['trailers', 'client-reset', 'server-reset', 'connection-closed', 'refused'];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fail(lineNo: number, what: string): never {
  throw new JsonlError(`line ${lineNo}: ${what}`);
}

function num(v: unknown, lineNo: number, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(lineNo, `"${field}" must be a number`);
  return v;
}

function bytes(v: unknown, lineNo: number, field: string): Buffer {
  if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64.test(v)) fail(lineNo, `"${field}" must be base64 text`);
  return Buffer.from(v, 'base64');
}

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
