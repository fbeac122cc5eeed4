import type { CallStatus, Header } from '../call.js';
import { decodeGrpcMessage } from '../wire/frame-writer.js';

/** gRPC's mapping of HTTP status to a code, for answers that carry no grpc-status. */
function codeFromHttp(httpStatus: string | undefined): number {
  switch (httpStatus) {
    case '400': return 13; // INTERNAL
    case '401': return 16; // UNAUTHENTICATED
    case '403': return 7; // PERMISSION_DENIED
    case '404': return 12; // UNIMPLEMENTED
    case '429': case '502': case '503': case '504': return 14; // UNAVAILABLE
    default: return 2; // UNKNOWN
  }
}

/**
 * The status of every call that ended OK with no message: one frozen object shared by all of
 * them (most calls), not one made per call. Records are never changed in place.
 */
export const OK_STATUS: CallStatus = Object.freeze({ code: 0, message: '' });

/** The status a call ended with, read from its trailers (or a trailers-only answer). */
export function statusFromTrailers(trailers: readonly Header[], httpStatus: string | undefined): CallStatus {
  let code: number | undefined;
  let message = '';
  let details: Buffer | undefined;
  for (const [name, value] of trailers) {
    if (name === 'grpc-status') code = Number.parseInt(value, 10);
    else if (name === 'grpc-message') message = decodeGrpcMessage(value);
    else if (name === 'grpc-status-details-bin') details = Buffer.from(value, 'base64');
  }
  if (code === undefined || Number.isNaN(code)) {
    return { code: codeFromHttp(httpStatus), message: message || `no grpc-status in the answer (HTTP ${httpStatus ?? '?'})` };
  }
  if (details) return { code, message, details };
  return code === 0 && message === '' ? OK_STATUS : { code, message };
}

/** gRPC's mapping of an HTTP/2 RST_STREAM error code to a status code. */
export function codeFromReset(errorCode: number): number {
  switch (errorCode) {
    case 0x7: return 14; // REFUSED_STREAM → UNAVAILABLE
    case 0x8: return 1; // CANCEL → CANCELLED
    case 0xb: return 8; // ENHANCE_YOUR_CALM → RESOURCE_EXHAUSTED
    case 0xc: return 7; // INADEQUATE_SECURITY → PERMISSION_DENIED
    default: return 13; // INTERNAL
  }
}

/** grpc-timeout ("100m", "5S", "1H", …) in nanoseconds: 1 to 8 digits and a unit (read per call, so no regex). */
export function parseGrpcTimeout(value: string): number | undefined {
  const digits = value.length - 1;
  if (digits < 1 || digits > 8) return undefined;
  let n = 0;
  for (let i = 0; i < digits; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  switch (value.charCodeAt(digits)) {
    case 72: return n * 3600e9; // H
    case 77: return n * 60e9; // M
    case 83: return n * 1e9; // S
    case 109: return n * 1e6; // m
    case 117: return n * 1e3; // u
    case 110: return n; // n
    default: return undefined;
  }
}
