import { access, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import type { CallIds } from '../cri/ids.js';
import { bodyFilesOf, decodeCallValue, decodeValueHeader, encodeCallValue } from './call-codec.js';
import { readBodyFile, removeBodyFiles } from './body-store.js';
import { SharedCounts, SharedFiles } from './shared-files.js';
import { RecordingError } from './errors.js';
import { describeDamage, findDamage, readSideCounters, writeSideCounters, type SideCounters } from './damage.js';
import { accessProblem, describeAccessProblem } from './access.js';
import { removeSnapshot, snapshotDb } from './snapshot.js';
import { CALL_END, CALL_PREFIX, META_KEY, callKey, callKeyFrom, indexKey, seqOfKey, startNsOfKey } from './keys.js';

export const DB_DIR = 'db';
export const PID_FILE = 'writer.pid';

export type Db = Level<string, Buffer>;

/** Running totals, kept in the meta entry and rewritten in the same batch as the calls they count. */
export interface Counters {
  /** Calls stored now. */
  calls: number;
  /** Bytes of stored call values now, body files included (what retention's byte limit counts; disk use lags behind). */
  bytes: number;
  /** Calls ever written, including those retention removed since. */
  recorded: number;
  /** Calls the recorder could not keep up with and dropped. */
  dropped: number;
  /** Calls stored with something redacted. */
  redacted: number;
  /** Calls removed by retention. */
  evicted: number;
  /** Next sequence number for call keys; never reused, so keys stay unique across sessions. */
  nextSeq: number;
  /** Stored calls per method path. */
  methods: Record<string, number>;
}

function emptyCounters(): Counters {
  return { calls: 0, bytes: 0, recorded: 0, dropped: 0, redacted: 0, evicted: 0, nextSeq: 0, methods: {} };
}

/** A call ready to store: encoded value plus what the index and counters need. */
export interface PreparedCall {
  startNs: bigint;
  method: string;
  value: Buffer;
  ids: CallIds;
  redacted: boolean;
  /** Bodies the value names in bodies/ (body-store.ts), already written there. */
  bodyFiles?: Array<{ file: string; length: number }>;
  /**
   * Repeated bodies the value names in files other calls may name too (repeated-bodies.ts), each
   * with the bytes its file holds; pinned (shared-files.ts) until the call is stored or given up.
   */
  sharedFiles?: Array<{ file: string; length: number }>;
}

export interface RetentionLimits {
  maxCalls?: number;
  maxBytes?: number;
  maxAgeMs?: number;
}

/** Index entries so `show --pod/--container` reads a few keys instead of scanning every call. */
export function indexKeysFor(ids: CallIds, key: string): readonly string[] {
  // Made only when there is an entry: most calls (Version, Status, lists) carry no id.
  let out: string[] | undefined;
  if (ids.podName) (out ??= []).push(indexKey('p', ids.podName, key));
  if (ids.podName && ids.podNamespace) (out ??= []).push(indexKey('p', `${ids.podNamespace}/${ids.podName}`, key));
  if (ids.podUid) (out ??= []).push(indexKey('u', ids.podUid, key));
  if (ids.podSandboxId) (out ??= []).push(indexKey('s', ids.podSandboxId, key));
  if (ids.containerId) (out ??= []).push(indexKey('c', ids.containerId, key));
  if (ids.containerName) (out ??= []).push(indexKey('n', ids.containerName, key));
  return out ?? NO_INDEX_KEYS;
}

const NO_INDEX_KEYS: readonly string[] = Object.freeze([]);

async function writerDescription(dir: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(join(dir, PID_FILE), 'utf8');
  } catch {
    return 'another process';
  }
  const [pidLine = '', recordedExe = ''] = text.split('\n');
  const pid = Number(pidLine.trim());
  if (!Number.isInteger(pid) || pid <= 0) return 'another process';
  const exe = await readlink(`/proc/${pid}/exe`).catch(() => recordedExe.trim() || 'unknown executable');
  return `pid ${pid} (${exe})`;
}

function openError(dir: string, err: unknown, snapshot: string | undefined): RecordingError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  // Name the user's folder, never our temp snapshot of it.
  const detail = (cause?.message ?? (err as Error).message).split(snapshot ?? '\0').join(join(dir, DB_DIR));
  // A folder we may not write is not a damaged one: saying "damaged" could get a good recording deleted.
  if (accessProblem(err) || accessProblem(cause)) return new RecordingError(dir, describeAccessProblem(dir, detail), { cause: err });
  return new RecordingError(dir, `recording ${dir} is damaged: its LevelDB (db/) does not open: ${detail}`, { cause: err });
}

/**
 * Bytes per LevelDB table block (LevelDB's default is 4 KiB): a setting for the tables written
 * from now on; tables already written keep theirs and read as before. A recorded call is several
 * hundred bytes, so a 4 KiB block holds a handful of them, and LevelDB's background thread,
 * which writes every call again when it flushes its memory table and when it compacts, paid per
 * block: snappy on small inputs, a checksum and an index entry each. Writing 300 000 Version calls
 * (bench: the store alone, side by side), that thread spent 3.1-3.7 µs per call with 4 KiB blocks
 * and 2.0-2.1 with 16 KiB (32 and 64 KiB: no better). Reading one call decompresses one block, now
 * 16 KiB: microseconds, for `show` and replay alike.
 */
const BLOCK_SIZE = 16 * 1024;

/** Side counters are written at most this often while recording (and always on close). */
const SIDE_COUNTERS_EVERY_MS = 1000;

type ChainedBatch = ReturnType<Db['batch']>;

/** The value of an index entry. */
const NO_BYTES = Buffer.alloc(0);

/**
 * A stored call in the counters: what the meta entry and retention's limits count. A shared
 * file's bytes count once, with the first stored call that names it.
 */
function countCall(c: Counters, call: PreparedCall, shared: SharedCounts | undefined): void {
  c.calls++;
  c.recorded++;
  c.bytes += call.value.length;
  const files = call.bodyFiles;
  if (files) for (let i = 0; i < files.length; i++) c.bytes += files[i]!.length;
  const named = call.sharedFiles;
  if (named && shared) for (let i = 0; i < named.length; i++) if (shared.add(named[i]!.file)) c.bytes += named[i]!.length;
  if (call.redacted) c.redacted++;
  c.methods[call.method] = (c.methods[call.method] ?? 0) + 1;
}

export class Store {
  private constructor(
    readonly dir: string,
    readonly db: Db,
    public counters: Counters,
    private readonly writable: boolean,
    /** For readers: the snapshot of db/ actually opened, removed on close. */
    private readonly snapshot?: string,
  ) {}

  /** For readers: why the recording is known to have lost calls (see damage.ts), if it has. */
  damage?: string;
  /** For a writer: the body files several calls name, and how many (shared-files.ts). */
  shared?: SharedFiles;
  private sideWrittenAt = 0;
  private sideWrite: Promise<void> = Promise.resolve();

  /**
   * Opens db/ of a folder whose manifest was already checked. For reading, nothing is created or
   * repaired: a missing db/ is reported, not made (LevelDB would otherwise create an empty one).
   */
  static async open(dir: string, mode: 'read' | 'write', create = false): Promise<Store> {
    const location = join(dir, DB_DIR);
    if (!create) {
      try {
        await access(join(location, 'CURRENT'));
      } catch (err) {
        if (accessProblem(err)) throw new RecordingError(dir, describeAccessProblem(dir, (err as Error).message), { cause: err });
        throw new RecordingError(dir, `recording ${dir} is damaged: ${DB_DIR}/ is missing or has no CURRENT file`);
      }
    }
    if (mode === 'write' && !create) {
      // LevelDB's recovery would skip damaged log records and then compact them away for good,
      // so look first through a read-only snapshot while the damage can still be seen.
      const probe = await Store.open(dir, 'read');
      const damage = probe.damage;
      await probe.close();
      if (damage) throw new RecordingError(dir, `${damage.replace(/^recording \S+ is damaged/, `recording ${dir} is damaged`)}; it is not opened for writing`);
    }
    let snapshot: string | undefined;
    const side = mode === 'read' ? await readSideCounters(dir) : undefined;
    if (mode === 'read') {
      try {
        snapshot = await snapshotDb(location);
      } catch (err) {
        const msg = (err as Error).message;
        if (accessProblem(err)) throw new RecordingError(dir, describeAccessProblem(dir, msg), { cause: err });
        throw new RecordingError(dir, `cannot read ${location}: ${msg}`, { cause: err });
      }
    }
    const db: Db = new Level<string, Buffer>(snapshot ?? location, { valueEncoding: 'buffer', createIfMissing: create, blockSize: BLOCK_SIZE });
    try {
      await db.open({ createIfMissing: create, errorIfExists: false });
    } catch (err) {
      if (snapshot) await removeSnapshot(snapshot);
      if ((err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
        throw new RecordingError(dir, `recording ${dir} is being written by ${await writerDescription(dir)}; read it after that process stops`, { cause: err });
      }
      throw openError(dir, err, snapshot);
    }
    let counters: Counters;
    try {
      const raw = await db.get(META_KEY);
      if (raw === undefined) {
        if (!create) throw new RecordingError(dir, `recording ${dir} is damaged: its counters entry is missing`);
        counters = emptyCounters();
      } else {
        counters = { ...emptyCounters(), ...(JSON.parse(raw.toString('utf8')) as Partial<Counters>) };
      }
    } catch (err) {
      await db.close().catch(() => {});
      if (snapshot) await removeSnapshot(snapshot);
      if (err instanceof RecordingError) throw err;
      throw new RecordingError(dir, `recording ${dir} is damaged: its counters entry does not read (${(err as Error).message})`, { cause: err });
    }
    const store = new Store(dir, db, counters, mode === 'write', snapshot);
    if (snapshot) {
      try {
        await store.checkDamage(snapshot, side);
      } catch (err) {
        await store.close().catch(() => {});
        throw err;
      }
    }
    if (mode === 'write') {
      try {
        store.shared = await SharedFiles.load(db, dir);
      } catch (err) {
        await store.close().catch(() => {});
        throw new RecordingError(dir, `recording ${dir} is damaged: its shared body counts do not read (${(err as Error).message})`, { cause: err });
      }
      if (create) await db.put(META_KEY, store.metaValue());
      // Lets a reader that hits the LevelDB lock say who holds it.
      await writeFile(join(dir, PID_FILE), `${process.pid}\n${process.execPath}\n`);
    }
    return store;
  }

  /** A LevelDB message with our temp snapshot's path put back to the recording's db/. */
  ownPaths(message: string): string {
    return this.snapshot ? message.split(this.snapshot).join(join(this.dir, DB_DIR)) : message;
  }

  private async checkDamage(openedDir: string, side: SideCounters | undefined): Promise<void> {
    const damage = await findDamage(side, openedDir, this.counters.recorded);
    if (!damage) return;
    // Only a damaged recording pays for counting its keys: the message says how many survived.
    let found = 0;
    for await (const _ of this.db.keys({ gte: CALL_PREFIX, lt: CALL_END })) found++;
    const expected = Math.max(side?.calls ?? 0, this.counters.calls);
    this.damage = describeDamage(this.dir, damage, found, expected > found ? expected : undefined);
  }

  /** Keeps counters.json (the witness damage.ts compares with) close behind the counters entry. */
  private noteCounters(force = false): Promise<void> {
    if (!this.writable) return Promise.resolve();
    const now = Date.now();
    if (!force && now - this.sideWrittenAt < SIDE_COUNTERS_EVERY_MS) return Promise.resolve();
    this.sideWrittenAt = now;
    const snapshot = { recorded: this.counters.recorded, calls: this.counters.calls };
    // Chained so two writes never race on the temp file; a failure costs only this witness.
    this.sideWrite = this.sideWrite.then(() => writeSideCounters(this.dir, snapshot)).catch(() => {});
    return this.sideWrite;
  }

  private metaValue(c: Counters = this.counters): Buffer {
    return Buffer.from(JSON.stringify(c), 'utf8');
  }

  /** Stores calls, their index entries and the updated counters in one atomic batch; returns the calls' keys. */
  async putCalls(calls: readonly PreparedCall[], newlyDropped = 0): Promise<string[]> {
    const firstSeq = this.counters.nextSeq;
    await this.storeCalls(calls, newlyDropped);
    return calls.map((call, i) => callKey(call.startNs, firstSeq + i));
  }

  /** putCalls without making the keys: the recorder's write, batch after batch, has no use for them. */
  async storeCalls(calls: readonly PreparedCall[], newlyDropped = 0): Promise<void> {
    // Counted on a copy that replaces the counters only once the batch is stored: a failed batch
    // (disk full) must not leave counts that counters.json would then claim as lost calls.
    const c: Counters = { ...this.counters, methods: { ...this.counters.methods } };
    // A chained batch: each entry goes into LevelDB's own batch as it is added, so no array of
    // operation objects is built, copied again by abstract-level and read back field by field.
    const batch = this.db.batch();
    // Only a batch with a call naming a shared file pays for counting them.
    let shared: SharedCounts | undefined;
    for (let i = 0; i < calls.length && !shared; i++) if (calls[i]!.sharedFiles) shared = new SharedCounts(this.sharedFiles());
    try {
      for (let i = 0; i < calls.length; i++) {
        const call = calls[i]!;
        this.putCall(batch, call, c.nextSeq++);
        countCall(c, call, shared);
      }
      if (shared) for (const op of shared.entries()) if (op.type === 'put') batch.put(op.key, op.value);
      c.dropped += newlyDropped;
      batch.put(META_KEY, this.metaValue(c));
    } catch (err) {
      await batch.close();
      throw err;
    }
    // write() closes the batch, whether it succeeds or not.
    await batch.write();
    this.counters = c;
    if (shared) this.sharedFiles().apply(shared);
    void this.noteCounters();
  }

  private sharedFiles(): SharedFiles {
    if (!this.shared) throw new Error(`recording ${this.dir} was not opened for writing`);
    return this.shared;
  }

  private putCall(batch: ChainedBatch, call: PreparedCall, seq: number): void {
    const key = callKey(call.startNs, seq);
    batch.put(key, call.value);
    const indexKeys = indexKeysFor(call.ids, key);
    for (let i = 0; i < indexKeys.length; i++) batch.put(indexKeys[i]!, NO_BYTES);
  }

  /**
   * Whether a call with exactly this stored value and start time was here before sequence number
   * `beforeSeq` (import's duplicate check: calls the same import added are not duplicates).
   */
  async holds(call: PreparedCall, beforeSeq: number): Promise<boolean> {
    let inline: Buffer | undefined;
    for await (const [k, v] of this.db.iterator({ gte: callKeyFrom(call.startNs), lt: callKeyFrom(call.startNs + 1n) })) {
      if (seqOfKey(k) >= beforeSeq) continue;
      if (v.equals(call.value)) return true;
      // Rare (calls that started in the same nanosecond), so full decodes are affordable.
      inline ??= this.withBodiesInline(k, call.value);
      if (inline !== undefined && this.withBodiesInline(k, v)?.equals(inline)) return true;
    }
    return false;
  }

  /** A value with the bodies it keeps in files read back into it (undefined when one cannot be read). */
  private withBodiesInline(key: string, value: Buffer): Buffer | undefined {
    try {
      const call = decodeCallValue(key, value, (file, length) => readBodyFile(this.dir, file, length));
      return encodeCallValue(call, call.ids, call.redacted);
    } catch {
      // A stored call whose body cannot be read is not the same call.
      return undefined;
    }
  }

  /** Records drops when there is nothing else to write (so `critap stats` shows them). */
  async addDropped(n: number): Promise<void> {
    if (n <= 0) return;
    this.counters.dropped += n;
    await this.db.put(META_KEY, this.metaValue());
  }

  /**
   * Removes the oldest calls until every limit holds. Walks from the first key and stops at the
   * first call that may stay, so the cost is proportional to what is removed. `maxRemove` bounds
   * one pass, so a big cleanup never holds up the writes queued behind it for long.
   */
  async evict(limits: RetentionLimits, now: bigint, maxRemove = Infinity): Promise<number> {
    const { maxCalls, maxBytes, maxAgeMs } = limits;
    if (maxCalls === undefined && maxBytes === undefined && maxAgeMs === undefined) return 0;
    const cutoff = maxAgeMs === undefined ? undefined : now - BigInt(Math.round(maxAgeMs * 1e6));
    const c = this.counters;
    const over = (key: string) =>
      (maxCalls !== undefined && c.calls > maxCalls) ||
      (maxBytes !== undefined && c.bytes > maxBytes) ||
      (cutoff !== undefined && startNsOfKey(key) < cutoff);
    let removed = 0;
    let ops: { type: 'del'; key: string }[] = [];
    /** Body files of the calls in `ops`: removed once the calls are, never before. */
    let files: string[] = [];
    /** Shared files the calls in `ops` name: each goes when its count comes to zero. */
    const shared = this.shared;
    let counts = shared ? new SharedCounts(shared) : undefined;
    const commit = async () => {
      await this.db.batch([...ops, ...(counts?.entries() ?? []), { type: 'put', key: META_KEY, value: this.metaValue() }]);
      ops = [];
      if (shared && counts) {
        shared.apply(counts);
        counts = new SharedCounts(shared);
      }
      const gone = files;
      files = [];
      await removeBodyFiles(this.dir, gone);
    };
    for await (const [key, value] of this.db.iterator({ gte: CALL_PREFIX, lt: CALL_END })) {
      if (removed >= maxRemove || !over(key)) break;
      ops.push({ type: 'del', key });
      try {
        const { header } = decodeValueHeader(value);
        for (const ik of indexKeysFor(header.ids ?? {}, key)) ops.push({ type: 'del', key: ik });
        const m = header.method;
        if (c.methods[m] !== undefined && --c.methods[m]! <= 0) delete c.methods[m];
        for (const f of bodyFilesOf(header)) {
          if (counts?.has(f.file)) {
            if (counts.remove(f.file)) c.bytes -= f.length;
            continue;
          }
          files.push(f.file);
          c.bytes -= f.length;
        }
      } catch {
        // An undecodable value is removed all the same; its index entries (if any) then point at
        // nothing, which readers skip.
      }
      c.calls--;
      c.bytes -= value.length;
      c.evicted++;
      removed++;
      if (ops.length >= 1000) await commit();
    }
    if (ops.length > 0) await commit();
    if (removed > 0) void this.noteCounters();
    return removed;
  }

  async close(): Promise<void> {
    if (this.writable) {
      this.shared?.unpinAll();
      await this.noteCounters(true);
      await rm(join(this.dir, PID_FILE), { force: true }).catch(() => {});
    }
    await this.db.close();
    if (this.snapshot) await removeSnapshot(this.snapshot);
  }
}
