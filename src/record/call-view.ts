import { statusName, type TimedMessage } from '../call.js';
import { decodeMessage } from '../cri/decode.js';
import { lookupMethod } from '../cri/methods.js';
import { decodeRpcStatus, type RpcStatusView } from './rpc-status.js';
import type { StoredCall } from './stored-call.js';
import { isoNs } from './time.js';

/** A call for people: decoded messages beside timing and status. Used by `show --json` and export. */
export interface CallView {
  method: string;
  /** ISO 8601 with nanoseconds, UTC. */
  start: string;
  /** The same instant as a decimal string of ns since the epoch (exact). */
  startNs: string;
  durationMs: number;
  end: StoredCall['end'];
  status: { code: number; codeName: string; message: string; details?: RpcStatusView | { undecodable: string } };
  ids: StoredCall['ids'];
  peer?: StoredCall['peer'];
  /** A fault rule fired on the call: an error/hang/reset status is critap's, not the runtime's. */
  fault?: StoredCall['fault'];
  /** Unary calls. */
  request?: unknown;
  response?: unknown;
  /** Server-streaming calls: every response message with its offset from the start. */
  messages?: { offsetMs: number; message: unknown }[];
  redacted?: string[];
  truncated?: true;
  requestBytes: number;
  responseBytes: number;
}

const ns2ms = (ns: number) => Math.round(ns / 1000) / 1000;

/** How a view gets a message's JSON: decodeMessage, or one that remembers recent bodies (export). */
export type MessageDecoder = (typeName: string, data: Buffer) => unknown;

/** A message as JSON when it decodes; otherwise its bytes, said plainly. */
function decodeBody(typeName: string | undefined, m: TimedMessage | undefined, decode: MessageDecoder): unknown {
  if (!m) return undefined;
  if (m.compressed) return { '@compressed': m.data.toString('base64') };
  if (!typeName) return { '@raw': m.data.toString('base64') };
  try {
    return decode(typeName, m.data);
  } catch (err) {
    return { '@undecodable': m.data.toString('base64'), error: (err as Error).message };
  }
}

/** `decode` may hand several views the same object for equal bodies: a view is read, never changed. */
export function callView(call: StoredCall, decode: MessageDecoder = decodeMessage): CallView {
  const info = lookupMethod(call.method);
  const status: CallView['status'] = { code: call.status.code, codeName: statusName(call.status.code), message: call.status.message };
  if (call.status.details) status.details = decodeRpcStatus(call.status.details) ?? { undecodable: call.status.details.toString('base64') };
  const view: CallView = {
    method: call.method,
    start: isoNs(call.startNs),
    startNs: call.startNs.toString(),
    durationMs: ns2ms(call.durationNs),
    end: call.end,
    status,
    ids: call.ids,
    requestBytes: call.requestBytes,
    responseBytes: call.responseBytes,
  };
  if (call.peer) view.peer = call.peer;
  if (call.fault) view.fault = call.fault;
  const request = decodeBody(info?.requestType, call.requests[0], decode);
  if (request !== undefined) view.request = request;
  // An unknown method with several answers is most likely a stream: show them all.
  if (info?.serverStreaming || (!info && call.responses.length > 1)) {
    view.messages = call.responses.map((m) => ({ offsetMs: ns2ms(m.offsetNs), message: decodeBody(info?.responseType, m, decode) }));
  } else {
    const response = decodeBody(info?.responseType, call.responses[0], decode);
    if (response !== undefined) view.response = response;
  }
  if (call.redacted) view.redacted = call.redacted;
  if (call.truncated) view.truncated = true;
  return view;
}
