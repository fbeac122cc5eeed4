/**
 * The pod/container ids of a call, read from its decoded bodies by the CRI
 * module's extractIds. Decoding is the costly part of tracing, so it is done
 * only where ids can be found: the request where extractIds reads one of its
 * fields (requestHasIds: not Version or Status), the response only where
 * extractIds can find something in it (responseHasIds, as the recorder asks). List*, Stream* and streaming responses describe many objects, and an
 * ExecSync answer is mostly stdout: they are left undecoded.
 */
import type { CallRecord, TimedMessage } from '../call.js';
import { decodeMessage } from '../cri/decode.js';
import { extractIds, requestHasIds, responseHasIds } from '../cri/ids.js';
import type { MethodInfo } from '../cri/methods.js';
import type { PodIds } from './pod-links.js';

function decodeOne(typeName: string, messages: TimedMessage[]): Record<string, unknown> | undefined {
  const m = messages[0];
  // Compressed bodies would need the call's grpc-encoding; CRI clients do not compress.
  if (!m || m.compressed) return undefined;
  try {
    return decodeMessage(typeName, m.data);
  } catch {
    return undefined; // bytes that are not the expected message: no ids, but still a span
  }
}

/** What most calls (Version, Status, image calls) give: one shared, frozen empty set of ids. */
const NO_IDS: PodIds = Object.freeze({});

export function idsOfCall(call: CallRecord, info: MethodInfo | undefined): PodIds {
  if (!info || call.truncated) return NO_IDS;
  const req = requestHasIds(info) ? decodeOne(info.requestType, call.requests) : undefined;
  const res = call.status.code === 0 && !info.serverStreaming && responseHasIds(info) ? decodeOne(info.responseType, call.responses) : undefined;
  if (!req && !res) return NO_IDS;
  try {
    return extractIds(info, req, res);
  } catch {
    return NO_IDS;
  }
}
