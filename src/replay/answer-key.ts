/**
 * What a recorded answer holds, as one string, so that calls recorded with the same answer can
 * share one built answer. A recording repeats answers: 70 000 `Version` calls give the same
 * 60 bytes 70 000 times. Built once per recorded call and kept for the recording's life, one
 * answer each grew replay's heap by about 1 KB per recorded call served, promoted through
 * every scavenge into an old space that then took full collections of 200 MB and more.
 *
 * Only what an unpaced answer sends is in the key: with `--timing`, the recorded offsets and
 * duration matter too, and calls keep answers of their own.
 */
import type { CallRecord, Header } from '../call.js';

/** Answers larger than this are not shared: the key would copy them, and big answers rarely repeat. */
export const SHARED_ANSWER_MAX_BYTES = 16 * 1024;

/** `<length>:<text>`: fields told apart by their lengths, whatever they hold. */
const field = (text: string): string => `${text.length}:${text}`;

function headersKey(headers: readonly Header[]): string {
  let k = `${headers.length}h`;
  for (let i = 0; i < headers.length; i++) k += field(headers[i]![0]) + field(headers[i]![1]);
  return k;
}

/**
 * The key of a recorded call's answer (method, status, metadata, message bytes), or undefined
 * when it is too large to share. Made for every recorded call replay serves the first time, so it
 * is plain concatenation: JSON.stringify of the same parts cost 5 µs a call, more than building
 * the answer.
 */
export function sharedAnswerKey(call: CallRecord): string | undefined {
  const { status, responses } = call;
  let bytes = status.details?.length ?? 0;
  for (let i = 0; i < responses.length; i++) {
    // A body still held in parts elsewhere has no bytes here to compare.
    if (responses[i]!.spooled) return undefined;
    bytes += responses[i]!.data.length;
  }
  if (bytes > SHARED_ANSWER_MAX_BYTES) return undefined;
  let k = field(call.method) + field(call.end) + `${status.code}:` + field(status.message);
  k += status.details ? field(status.details.toString('latin1')) : '-';
  k += headersKey(call.responseHeaders) + headersKey(call.responseTrailers) + `${responses.length}m`;
  for (let i = 0; i < responses.length; i++) {
    const m = responses[i]!;
    k += (m.compressed ? 'z' : 'p') + field(m.data.toString('latin1'));
  }
  return k;
}
