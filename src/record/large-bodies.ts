/**
 * Large bodies of calls written directly (import, tests) go to body files exactly as the live
 * recorder's do: every request or response body of BODY_FILE_FROM_BYTES or more is written
 * through a BodySpool (same folder, same file names) and the call's value names the file (value
 * format 2), so LevelDB never holds a multi-MiB value and an imported recording reads back like
 * a recorded one.
 */
import type { TimedMessage } from '../call.js';
import { SPOOL_FROM_BYTES } from '../proxy/capture-budget.js';
import type { BodySpool } from './body-store.js';
import type { BodyFilesOf } from './prepare.js';

/** The size from which the proxy hands a body to the recorder in parts (and so into a file). */
export const BODY_FILE_FROM_BYTES = SPOOL_FROM_BYTES;

const EMPTY = Buffer.alloc(0);

/**
 * The message with its body moved to a file when it is large (for a BodyPlacer, prepare.ts; the file is
 * added to `into.bodyFiles`), else undefined. Redaction already happened: the bytes are stored as
 * they are. Throws when the body cannot be written (its file is then gone; the caller removes the
 * files of its other bodies).
 */
export function largeBodyToFile(m: TimedMessage, into: BodyFilesOf, spool: BodySpool, id: number): TimedMessage | undefined {
  if (m.spooled || m.data.length < BODY_FILE_FROM_BYTES) return undefined;
  spool.append(id, m.data);
  const done = spool.finish(id, m.data.length);
  if ('error' in done) throw new Error(`cannot write a body of ${m.data.length} bytes to its file: ${done.error}`);
  (into.bodyFiles ??= []).push({ file: done.file, length: m.data.length });
  const out: TimedMessage = { offsetNs: m.offsetNs, data: EMPTY, spooled: { id, length: m.data.length, file: done.file } };
  if (m.compressed) out.compressed = true;
  return out;
}
