/**
 * Body files no stored call names. body-store.ts writes a body's file before the call that names
 * it, so a process that dies between the two (SIGKILL mid-body, power loss) leaves a file nothing
 * will ever read or remove. They are removed when a recording is opened for writing after such a
 * stop (writer.pid left behind: writers remove it when they close), and only then: the writer
 * holds LevelDB's lock, so no other process can be writing body files at that moment, and a
 * reader never changes a recording. A clean stop leaves no orphans (the recorder removes the
 * files of bodies it did not store), so it costs nothing at the next open; after a crash, one
 * pass over the stored calls (3-6 µs of CPU a call on the 2-core test machine; only calls whose
 * value names body files are parsed).
 *
 * Careful by construction: only names body-store.ts writes are considered; every stored call's
 * value is read first, and if any does not decode, or fewer calls are found than the counters
 * say (the recording lost some), nothing is removed: such a call may name a file we cannot see.
 */
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BODIES_DIR, isBodyFileName } from './body-store.js';
import { bodyFilesOf, decodeValueHeader, mayNameBodyFiles } from './call-codec.js';
import { CALL_END, CALL_PREFIX } from './keys.js';
import type { Store } from './store.js';

export type OrphanSweep = { removed: number; bytes: number } | { skipped: string };

export async function removeOrphanBodies(store: Store): Promise<OrphanSweep> {
  const folder = join(store.dir, BODIES_DIR);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { removed: 0, bytes: 0 };
    throw err;
  }
  const unnamed = new Set(names.filter(isBodyFileName));
  // The common case (no body files, e.g. a format 1 recording): no need to read the calls.
  if (unnamed.size === 0) return { removed: 0, bytes: 0 };
  let calls = 0;
  for await (const [key, value] of store.db.iterator({ gte: CALL_PREFIX, lt: CALL_END })) {
    calls++;
    // Most calls keep every body in LevelDB: no need to parse their headers.
    if (!mayNameBodyFiles(value)) continue;
    let files: Array<{ file: string }>;
    try {
      files = bodyFilesOf(decodeValueHeader(value).header);
    } catch (err) {
      return { skipped: `call ${key} does not decode (${(err as Error).message})` };
    }
    for (const f of files) unnamed.delete(f.file);
  }
  if (calls < store.counters.calls) return { skipped: `${calls} calls found where the counters say ${store.counters.calls}` };
  let removed = 0;
  let bytes = 0;
  for (const name of unnamed) {
    const path = join(folder, name);
    try {
      const st = await lstat(path);
      if (!st.isFile()) continue;
      await unlink(path);
      removed++;
      bytes += st.size;
    } catch {
      // gone already, or not ours to remove: left as it is
    }
  }
  return { removed, bytes };
}
