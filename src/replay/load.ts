/**
 * Reads every call of a recording into memory for replay, without touching the recording.
 *
 * LevelDB writes when it opens a database, even to read it (a new log file, LOG, a new
 * MANIFEST, obsolete files removed). Recordings are shipped in git and shared read-only, so
 * replay opens a throw-away copy: the original's files are never modified, and a recording
 * that a live proxy is still writing (and so holds LevelDB's lock) can be replayed too.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredCall } from '../record/stored-call.js';
import { openRecording } from '../record/reader.js';
import { inspectFolder, MANIFEST_FILE } from '../record/manifest.js';
import { RecordingError } from '../record/errors.js';
import { SharedBodies } from '../record/shared-bodies.js';

/** `injected`: also the calls critap answered itself (fault rules), as if the runtime had. */
export async function loadRecordingCalls(dir: string, opts: { injected?: boolean } = {}): Promise<StoredCall[]> {
  const state = await inspectFolder(dir);
  if (state.kind === 'missing-folder') throw new RecordingError(dir, `recording ${dir} does not exist`);
  if (state.kind === 'not-recording') throw new RecordingError(dir, `${dir} is not a critap recording (no ${MANIFEST_FILE})`);
  const copy = await mkdtemp(join(tmpdir(), 'critap-replay-'));
  try {
    // The writer's lock and pid files stay behind: the copy is ours alone.
    await cp(dir, copy, { recursive: true, filter: (src) => !/(^|\/)(LOCK|writer\.pid)$/.test(src) });
    const reader = await openRecording(copy);
    const calls: StoredCall[] = [];
    // Shared as they are read: an hour of relists is thousands of copies of a few answers.
    const bodies = new SharedBodies();
    try {
      for await (const c of reader.calls()) {
        // A call a fault rule answered (error, hang, reset) holds critap's answer, not the runtime's:
        // replay serves real answers only. Delayed calls carry the runtime's answer and stay.
        if (!opts.injected && c.fault?.actions.some((a) => a === 'error' || a === 'hang' || a === 'reset')) continue;
        bodies.shareCall(c);
        calls.push(c);
      }
    } finally {
      await reader.close();
    }
    return calls;
  } catch (err) {
    if (err instanceof RecordingError) {
      // Name the user's folder, not our temp copy.
      throw new RecordingError(dir, err.message.replace(/^critap: /, '').split(copy).join(dir), { cause: err });
    }
    throw err;
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}
