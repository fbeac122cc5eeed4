import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallRecord } from '../call.js';
import type { CallIds } from '../cri/ids.js';
import { RecordingError } from './errors.js';
import { inspectFolder, upgradeManifest, writeManifest } from './manifest.js';
import { prepareCall, prepareStoredCall, type BodyFilesOf, type BodyPlacer } from './prepare.js';
import { PID_FILE, Store, type PreparedCall, type RetentionLimits } from './store.js';
import { nowNs } from './time.js';
import { removeOrphanBodies } from './orphan-bodies.js';
import { BodySpool, removeBodyFileNow } from './body-store.js';
import { largeBodyToFile } from './large-bodies.js';
import { RepeatedBodies } from './repeated-bodies.js';
import type { TimedMessage } from '../call.js';
import { silentLogger, type Logger } from '../log.js';

/**
 * Opens a folder for writing: makes a new recording in a missing or empty folder, appends to an
 * existing one, and refuses any other folder (it will not scatter files among someone else's).
 */
export async function openStoreForWriting(dir: string, logger: Logger = silentLogger): Promise<Store> {
  const state = await inspectFolder(dir);
  if (state.kind === 'ok') {
    // A writer removes its pid file when it closes: one left behind means it stopped uncleanly.
    const uncleanStop = await access(join(dir, PID_FILE)).then(
      () => true,
      () => false,
    );
    const store = await Store.open(dir, 'write');
    try {
      // Opened first: a recording that cannot be written (damaged, locked) keeps its old manifest.
      await upgradeManifest(dir, state.manifest);
    } catch (err) {
      await store.close().catch(() => {});
      throw new RecordingError(dir, `cannot update the manifest of ${dir}: ${(err as Error).message}`, { cause: err });
    }
    if (uncleanStop) await sweepOrphanBodies(store, logger);
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

/** Only a recording whose writer stopped uncleanly can hold orphans; failing to look costs disk space, never the recording. */
async function sweepOrphanBodies(store: Store, logger: Logger): Promise<void> {
  try {
    const sweep = await removeOrphanBodies(store);
    if ('skipped' in sweep) {
      logger.warn('left body files as they are: cannot tell which ones no call names', { dir: store.dir, why: sweep.skipped });
    } else if (sweep.removed > 0) {
      logger.info('removed body files no call names (a crash left them mid-body)', { dir: store.dir, files: sweep.removed, bytesReclaimed: sweep.bytes });
    }
  } catch (err) {
    logger.warn('could not look for body files no call names', { dir: store.dir, error: (err as Error).message });
  }
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
export class RecordingWriter implements BodyPlacer {
  /** Calls stored from this sequence number on were added by this writer. */
  private readonly firstSeq: number;
  /** Large bodies go to files as the live recorder's do (large-bodies.ts). */
  private readonly spool: BodySpool;
  private bodyIds = 0;
  /** And repeated ones are stored once, as the live recorder's are. */
  private readonly repeated: RepeatedBodies;

  constructor(private readonly store: Store) {
    this.firstSeq = store.counters.nextSeq;
    this.spool = new BodySpool(store.dir);
    this.repeated = new RepeatedBodies(new BodySpool(store.dir), () => store.shared);
  }

  get dir(): string {
    return this.store.dir;
  }

  /** Appends calls in one batch; returns their keys. */
  async append(...calls: Appendable[]): Promise<string[]> {
    const prepared: PreparedCall[] = [];
    try {
      for (const c of calls) prepared.push(this.prepare(c));
    } catch (err) {
      this.releaseAll(prepared, false);
      throw err;
    }
    return this.putCalls(prepared);
  }

  /**
   * Appends the calls that were not in the recording before this writer opened it (same start
   * time, same stored bytes), so importing one file twice does not double it, while a file that
   * holds two equal calls still imports both. Returns how many were added and skipped.
   */
  async appendNew(...calls: Appendable[]): Promise<{ added: number; skipped: number }> {
    const fresh: PreparedCall[] = [];
    try {
      for (const c of calls) {
        const prepared = this.prepare(c);
        // holds() compares with the bodies in files read back.
        if (await this.store.holds(prepared, this.firstSeq)) this.release(prepared, false);
        else fresh.push(prepared);
      }
    } catch (err) {
      this.releaseAll(fresh, false);
      throw err;
    }
    if (fresh.length > 0) await this.putCalls(fresh);
    return { added: fresh.length, skipped: calls.length - fresh.length };
  }

  private prepare(c: Appendable): PreparedCall {
    return hasIds(c) ? prepareStoredCall(c, this) : prepareCall(c, undefined, undefined, undefined, this);
  }

  /** BodyPlacer: large bodies to files of their own, repeated ones to files several calls name. */
  place(m: TimedMessage, into: BodyFilesOf): TimedMessage {
    return largeBodyToFile(m, into, this.spool, ++this.bodyIds) ?? this.repeated.place(m, into);
  }

  /** BodyPlacer: a call not stored takes its body files with it. */
  release(files: BodyFilesOf, stored: boolean): void {
    if (!stored) for (const f of files.bodyFiles ?? []) removeBodyFileNow(this.dir, f.file);
    this.repeated.release(files);
  }

  private releaseAll(calls: readonly PreparedCall[], stored: boolean): void {
    for (const c of calls) this.release(c, stored);
  }

  private async putCalls(calls: PreparedCall[]): Promise<string[]> {
    let stored = false;
    try {
      const keys = await this.store.putCalls(calls);
      stored = true;
      return keys;
    } finally {
      this.releaseAll(calls, stored);
    }
  }

  async applyRetention(limits: RetentionLimits): Promise<number> {
    return this.store.evict(limits, nowNs());
  }

  async close(): Promise<void> {
    this.repeated.forget();
    await this.store.close();
  }
}

/** `logger` hears what opening for writing cleaned up (orphan-bodies.ts). */
export async function createRecording(dir: string, logger?: Logger): Promise<RecordingWriter> {
  return new RecordingWriter(await openStoreForWriting(dir, logger));
}
