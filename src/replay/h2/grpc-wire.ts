/**
 * The gRPC-over-HTTP/2 conventions replay's server speaks (grpc/PROTOCOL-HTTP2.md): response
 * header blocks, trailers, message prefixes, and the client's `grpc-timeout`.
 */
import type { Header } from '../../call.js';
import { encodeGrpcMessage, encodeHeaderBlock } from '../../wire/frame-writer.js';

export interface GrpcStatus {
  /** gRPC status code, 0 OK … 16 UNAUTHENTICATED. */
  code: number;
  message: string;
  /** `grpc-status-details-bin` (a google.rpc.Status), as bytes. */
  details?: Buffer;
}

/**
 * Headers the server writes itself, or that describe the recorded connection rather than the
 * answer: hop-by-hop headers (RFC 9113 §8.2.2), content-type, the status trio, and
 * grpc-encoding (recorded messages are sent uncompressed).
 */
const OWN_HEADERS = new Set([
  'content-type', 'grpc-encoding', 'grpc-accept-encoding', 'content-length', 'grpc-status', 'grpc-message',
  'grpc-status-details-bin', 'te', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'proxy-connection',
]);

/** RFC 9110 token characters, lower case (HTTP/2 forbids upper-case names). */
const VALID_NAME = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;
/** No NUL, CR or LF, and no leading/trailing whitespace (RFC 9113 §8.2.1). */
const VALID_VALUE = /^(?:[^\0\r\n \t](?:[^\0\r\n]*[^\0\r\n \t])?)?$/;

/** Recorded headers that may be replayed: the server's own and malformed ones left out. */
export function replayableHeaders(headers: readonly Header[]): Header[] {
  return headers.filter(([name, value]) => name.charCodeAt(0) !== 58 && !OWN_HEADERS.has(name) && VALID_NAME.test(name) && VALID_VALUE.test(value));
}

/**
 * `:status: 200` as static-table index 8, then `content-type: application/grpc` as a literal
 * without indexing whose name is static index 31 (RFC 7541 §6.1, §6.2.2). Still no dynamic
 * table; static entries spare the client's HTTP/2 stack a string per response.
 */
const RESPONSE_START = Buffer.concat([Buffer.from([0x88, 0x0f, 31 - 15, 16]), Buffer.from('application/grpc', 'latin1')]);

/** The response HEADERS block: `:status 200`, content-type, then the recorded headers. */
export function responseHeaderBlock(headers: readonly Header[] = []): Buffer {
  return Buffer.concat([RESPONSE_START, encodeHeaderBlock(replayableHeaders(headers))]);
}

function statusHeaders(status: GrpcStatus, trailers: readonly Header[]): Header[] {
  const out: Header[] = [['grpc-status', String(status.code)]];
  if (status.message !== '') out.push(['grpc-message', encodeGrpcMessage(status.message)]);
  if (status.details && status.details.length > 0) out.push(['grpc-status-details-bin', status.details.toString('base64')]);
  out.push(...replayableHeaders(trailers));
  return out;
}

/** The trailers block after headers and messages: status, message, details, recorded trailers. */
export function trailerBlock(status: GrpcStatus, trailers: readonly Header[] = []): Buffer {
  return encodeHeaderBlock(statusHeaders(status, trailers));
}

/** A trailers-only answer (no messages, typical of errors): one block with `:status` and the status. */
export function trailersOnlyBlock(status: GrpcStatus, trailers: readonly Header[] = []): Buffer {
  return Buffer.concat([RESPONSE_START, encodeHeaderBlock(statusHeaders(status, trailers))]);
}

/** The end of an answer, encoded once and reused for every call it answers. */
export interface EncodedEnd {
  /** After response headers were sent. */
  trailers: Buffer;
  /** When nothing was sent before it. */
  trailersOnly: Buffer;
}

export function encodeEnd(status: GrpcStatus, trailers: readonly Header[] = []): EncodedEnd {
  return { trailers: trailerBlock(status, trailers), trailersOnly: trailersOnlyBlock(status, trailers) };
}

/** The 5-byte gRPC message prefix: uncompressed, big-endian length. */
export function messagePrefix(length: number): Buffer {
  const p = Buffer.allocUnsafe(5);
  p[0] = 0;
  p.writeUInt32BE(length, 1);
  return p;
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** Timeouts already parsed: a client sends the same few values again and again. */
const timeoutCache = new Map<string, number | undefined>();
const TIMEOUT_CACHE_MAX = 256;

/** `grpc-timeout` (1–8 digits and a unit: H M S m u n) in milliseconds; undefined when malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  if (timeoutCache.has(value)) return timeoutCache.get(value);
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  const ms = m ? Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]! : undefined;
  if (timeoutCache.size >= TIMEOUT_CACHE_MAX) timeoutCache.clear();
  timeoutCache.set(value, ms);
  return ms;
}
