/**
 * A recorded call turned back into what a grpc-js server sends: response headers, messages
 * (raw recorded bytes; re-encoded only when echo changed something), status and trailers.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import type { CallRecord, Header } from '../call.js';
import { decodeMessage, encodeMessage } from '../cri/codec.js';
import type { MethodInfo } from '../cri/methods.js';
import { applyEcho, type EchoPairs } from './echo.js';

/**
 * Headers grpc-js writes itself (or that describe the framing of the recorded connection, not
 * the answer): copying them would duplicate or contradict what grpc-js sends.
 */
const OWN_HEADERS = new Set([
  'content-type', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'date', 'content-length',
  'grpc-status', 'grpc-message', 'grpc-status-details-bin', 'te', 'connection', 'transfer-encoding',
  'keep-alive', 'upgrade', 'proxy-connection', 'user-agent',
]);

/** Recorded headers as grpc-js Metadata; `-bin` values go back from base64 text to bytes. */
export function toMetadata(headers: readonly Header[]): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [name, value] of headers) {
    if (name.startsWith(':') || OWN_HEADERS.has(name)) continue;
    try {
      if (name.endsWith('-bin')) md.add(name, Buffer.from(value, 'base64'));
      else md.add(name, value);
    } catch {
      // A header grpc-js refuses (illegal characters) is left out rather than failing the answer.
    }
  }
  return md;
}

/** grpc-js Metadata as recorded headers (`-bin` values as base64 text, as on the wire). */
export function fromMetadata(md: grpc.Metadata | undefined): Header[] {
  const out: Header[] = [];
  if (!md) return out;
  for (const [name, values] of Object.entries(md.toJSON())) {
    for (const v of values) out.push([name, Buffer.isBuffer(v) ? v.toString('base64') : String(v)]);
  }
  return out;
}

export interface Answer {
  headers: grpc.Metadata | undefined;
  /** Messages with their offsets from the call's start. */
  messages: Array<{ offsetNs: number; data: Buffer }>;
  code: number;
  message: string;
  trailers: grpc.Metadata;
  durationNs: number;
  /** The recorded stream was never ended by the runtime (the client left): keep it open. */
  leaveOpen: boolean;
  /** The recorded answer's messages were re-encoded to echo the client's values. */
  echoed: boolean;
}

function plainBytes(call: CallRecord, data: Buffer, compressed: boolean | undefined): Buffer {
  if (!compressed) return data;
  const enc = call.responseHeaders.find((h) => h[0] === 'grpc-encoding')?.[1];
  try {
    if (enc === 'gzip') return gunzipSync(data);
    if (enc === 'deflate') return inflateSync(data);
  } catch {
    // fall through: sent as recorded
  }
  return data;
}

/** Changes to a decoded answer beyond echo (replay's state: the client's phase and names); true when it changed it. */
export type AnswerEdit = (answer: Record<string, unknown>) => boolean;

function echoed(info: MethodInfo | undefined, data: Buffer, echo: EchoPairs, edit?: AnswerEdit): Buffer | undefined {
  if (!info || (echo.size === 0 && !edit)) return undefined;
  try {
    const view = decodeMessage(info.responseType, data);
    const r = applyEcho(view, echo);
    const value = r.changed ? r.value : structuredClone(r.value);
    const edited = edit ? edit(value) : false;
    return r.changed || edited ? encodeMessage(info.responseType, value) : undefined;
  } catch {
    return undefined; // an answer that does not decode is replayed as recorded
  }
}

export function answerFrom(call: CallRecord, info: MethodInfo | undefined, echo: EchoPairs, edit?: AnswerEdit): Answer {
  let anyEcho = false;
  const messages = call.responses.map((m) => {
    const plain = plainBytes(call, m.data, m.compressed);
    const e = echoed(info, plain, echo, edit);
    if (e) anyEcho = true;
    return { offsetNs: m.offsetNs, data: e ?? plain };
  });
  const trailers = toMetadata(call.responseTrailers);
  if (call.status.details && call.status.details.length > 0) trailers.set('grpc-status-details-bin', call.status.details);
  const hasHeaders = call.responseHeaders.length > 0;
  return {
    headers: hasHeaders ? toMetadata(call.responseHeaders) : undefined,
    messages,
    code: call.status.code,
    message: call.status.message,
    trailers,
    durationNs: call.durationNs,
    leaveOpen: (info?.serverStreaming ?? call.responses.length > 1) && call.end === 'client-reset',
    echoed: anyEcho,
  };
}

/** A call record for an answer replay made itself (a list from the client's world, a synthesized answer). */
export function madeCall(path: string, info: MethodInfo, answer: Record<string, unknown>, code: number, message: string): CallRecord {
  const data = code === 0 ? encodeMessage(info.responseType, answer) : undefined;
  return {
    method: path,
    startNs: 0n,
    durationNs: 0,
    requests: [],
    responses: data ? [{ offsetNs: 0, data }] : [],
    status: { code, message },
    end: 'trailers',
    requestMetadata: [],
    responseHeaders: [],
    responseTrailers: [],
    requestBytes: 0,
    responseBytes: data ? data.length + 5 : 0,
  };
}
