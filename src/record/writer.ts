import type { CallRecord } from '../call.js';
import type { CallIds } from '../cri/ids.js';
import { RecordingError } from './errors.js';
import { inspectFolder, upgradeManifest, writeManifest } from './manifest.js';
import { prepareCall, prepareStoredCall } from './prepare.js';
import { Store, type PreparedCall, type RetentionLimits } from './store.js';
import { nowNs } from './time.js';

/**
 * Opens a folder for writing: makes a new recording in a missing or empty folder, appends to an
 * existing one, and refuses any other folder (it will not scatter files among someone else's).
 */
export async function openStoreForWriting(dir: string): Promise<Store> {
  const state = await inspectFolder(dir);
  if (state.kind === 'ok') {
    const store = await Store.open(dir, 'write');
    try {
      // Opened first: a recording that cannot be written (damaged, locked) keeps its old manifest.
      await upgradeManifest(dir, state.manifest);
    } catch (err) {
      await store.close().catch(() => {});
      throw new RecordingError(dir, `cannot update the manifest of ${dir}: ${(err as Error).message}`, { cause: err });
    }
    return store;
  }
  if (state.kind === 'not-recording' && !state.empty) {
    throw new RecordingError(dir, `${dir} exists and is not a critap recording; choose a new or empty folder`);
  }
  // db/ first, manifest last: a crash in between leaves a folder that is plainly not a recording.
  const store = await Store.open(dir, 'write', true);
  try {
    await writeManifest(dir);
  } catch (err) {
    await store.close().catch(() => {});
    throw new RecordingError(dir, `cannot write the manifest of ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return store;
}

type Appendable = CallRecord | (CallRecord & { ids: CallIds; redacted?: string[] });

function hasIds(c: Appendable): c is CallRecord & { ids: CallIds; redacted?: string[] } {
  return typeof (c as { ids?: unknown }).ids === 'object' && (c as { ids?: unknown }).ids !== null;
}

/**
 * Direct writes, for import and tests. A StoredCall keeps its ids and redaction flags exactly
 * (an import must give back what was exported); a bare CallRecord goes through the same
 * redaction and id extraction as the recorder.
 */
export class RecordingWriter {
  /** Calls stored from this sequence number on were added by this writer. */
  private readonly firstSeq: number;

  constructor(private readonly store: Store) {
    this.firstSeq = store.counters.nextSeq;
  }

  get dir(): string {
    return this.store.dir;
  }

  /** Appends calls in one batch; returns their keys. */
  async append(...calls: Appendable[]): Promise<string[]> {
    return this.store.putCalls(calls.map((c) => (hasIds(c) ? prepareStoredCall(c) : prepareCall(c, undefined))));
  }

  /**
   * Appends the calls that were not in the recording before this writer opened it (same start
   * time, same stored bytes), so importing one file twice does not double it, while a file that
   * holds two equal calls still imports both. Returns how many were added and skipped.
   */
  async appendNew(...calls: Appendable[]): Promise<{ added: number; skipped: number }> {
    const fresh: PreparedCall[] = [];
    for (const c of calls) {
      const prepared = hasIds(c) ? prepareStoredCall(c) : prepareCall(c, undefined);
      if (!(await this.store.holds(prepared, this.firstSeq))) fresh.push(prepared);
    }
    if (fresh.length > 0) await this.store.putCalls(fresh);
    return { added: fresh.length, skipped: calls.length - fresh.length };
  }

  async applyRetention(limits: RetentionLimits): Promise<number> {
    return this.store.evict(limits, nowNs());
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}

export async function createRecording(dir: string): Promise<RecordingWriter> {
  return new RecordingWriter(await openStoreForWriting(dir));
}
