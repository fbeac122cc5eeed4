/**
 * Large bodies of calls written directly (import, tests) go to body files exactly as the live
 * recorder's do: every request or response body of BODY_FILE_FROM_BYTES or more is written
 * through a BodySpool (same folder, same file names) and the call's value names the file (value
 * format 2), so LevelDB never holds a multi-MiB value and an imported recording reads back like
 * a recorded one.
 */
import type { TimedMessage } from '../call.js';
import { SPOOL_FROM_BYTES } from '../proxy/capture-budget.js';
import { removeBodyFileNow, type BodySpool } from './body-store.js';
import { decodeCallValue, decodeValueHeader, encodeCallValue } from './call-codec.js';
import type { PreparedCall } from './store.js';

/** The size from which the proxy hands a body to the recorder in parts (and so into a file). */
export const BODY_FILE_FROM_BYTES = SPOOL_FROM_BYTES;

const EMPTY = Buffer.alloc(0);

/**
 * The same call with its large inline bodies moved to files (`prepared` itself when it has
 * none). Redaction already happened: the bytes are stored as they are. Throws, leaving no file
 * behind, when a body cannot be written.
 */
export function moveLargeBodiesToFiles(prepared: PreparedCall, spool: BodySpool, nextId: () => number): PreparedCall {
  const { header } = decodeValueHeader(prepared.value);
  const large = (r: unknown[]) => r[3] === undefined && Number(r[1]) >= BODY_FILE_FROM_BYTES;
  if (!header.requests.some(large) && !header.responses.some(large)) return prepared;
  const call = decodeCallValue('', prepared.value);
  const files: Array<{ file: string; length: number }> = [];
  const move = (m: TimedMessage): TimedMessage => {
    if (m.data.length < BODY_FILE_FROM_BYTES) return m;
    const id = nextId();
    spool.append(id, m.data);
    const done = spool.finish(id, m.data.length);
    if ('error' in done) throw new Error(`cannot write a body of ${m.data.length} bytes to its file: ${done.error}`);
    files.push({ file: done.file, length: m.data.length });
    const out: TimedMessage = { offsetNs: m.offsetNs, data: EMPTY, spooled: { id, length: m.data.length, file: done.file } };
    if (m.compressed) out.compressed = true;
    return out;
  };
  try {
    const requests = call.requests.map(move);
    const responses = call.responses.map(move);
    const value = encodeCallValue({ ...call, requests, responses }, call.ids, call.redacted);
    return { ...prepared, value, bodyFiles: files };
  } catch (err) {
    for (const f of files) removeBodyFileNow(spool.dir, f.file);
    throw err;
  }
}
