import { bodyBytes, type CallRecord, type CallSink } from '../call.js';
import { silentLogger, type Logger } from '../log.js';
import { makeMethodFilter } from './method-filter.js';
import { validateRedactionRules } from '../cri/redact.js';
import { SecretMemory } from './secret-memory.js';
import { checkMethodPattern } from '../cri/method-pattern.js';
import { prepareCall, redactionRules, type RedactionRules } from './prepare.js';
import { Store, type PreparedCall, type RetentionLimits } from './store.js';
import { isDiskFull } from './disk-full.js';
import { nowNs } from './time.js';
import { openStoreForWriting } from './writer.js';
import { BodySpool, removeBodyFileNow } from './body-store.js';
import { abortSpooled, hasSpooled, keepNamedFiles, settleSpooled } from './spooled-bodies.js';
import { RepeatedBodies } from './repeated-bodies.js';

export interface RecorderOptions {
  dir: string;
  /** Keep container env values (they are blanked by default: env often carries secrets). */
  keepEnv?: boolean;
  /** Extra message field paths to blank. */
  redactPaths?: string[];
  /** Record only these methods (full path, Service/Method or bare name); default every method. */
  methods?: string[];
  /** Never record these methods. */
  exclude?: string[];
  /** Retention, oldest calls first: keep at most this many calls… */
  maxCalls?: number;
  /** …this many bytes of stored calls… */
  maxBytes?: number;
  /** …and nothing that started longer ago than this. */
  maxAgeMs?: number;
  /** Calls waiting to be written; past it new calls are dropped (and counted). Default 50 000. */
  queueLimit?: number;
  /**
   * Message bytes waiting to be written; past it new calls are dropped (and counted), so a burst
   * of large answers cannot grow the proxy's memory without bound. Default 32 MiB; a single call
   * larger than this is still taken when the queue is empty.
   */
  queueBytesLimit?: number;
  /**
   * How often queued calls are written, default 50 ms. Guarantee: a call handed to onCallEnd more
   * than 250 ms ago is in LevelDB's log, so it survives SIGKILL of this process.
   */
  flushIntervalMs?: number;
  /**
   * Where redacted values are remembered (keyed hashes) so later calls that repeat one are
   * scrubbed; shared with live telemetry by the observer thread. Default: the recorder's own.
   */
  secrets?: SecretMemory;
  /** How often retention runs, default 1 s. */
  retentionIntervalMs?: number;
  /**
   * Called with a call's body bytes (bodyBytes(call)) once the recorder no longer holds its
   * bodies: written to LevelDB, dropped, or not wanted. The proxy's capture budget is given back
   * through it, so that budget bounds a body until it is written.
   */
  release?: (bytes: number) => void;
  /**
   * Prepare each call (redaction, ids, its encoded value) as onCallEnd gets it rather than when
   * its batch is written (calls with spooled bodies still wait for the batch). For a recorder on
   * a thread of its own, where onCallEnd holds up no forwarding (src/observe/worker.ts): the
   * queue then holds small encoded values instead of whole calls (records, header lists, message
   * views), which would otherwise wait up to a flush interval on a young generation sized to be
   * small, be copied by its scavenges and promoted. Same stored bytes, same order, same counts.
   */
  prepareOnArrival?: boolean;
  logger?: Logger;
}

/** A queued call: as it came, or already prepared (RecorderOptions.prepareOnArrival). */
type Queued = CallRecord | PreparedCall;

function isPrepared(q: Queued): q is PreparedCall {
  return (q as PreparedCall).value !== undefined;
}

/**
 * Calls per LevelDB batch: large enough to amortise a write (each batch also rewrites the counters
 * entry and crosses to LevelDB's thread), small enough to keep the observer thread's event loop
 * responsive (preparing 256 small calls takes a few ms). Batches are also cut by bytes (below)
 * and written every tick (flushIntervalMs), so a batch waits for size or time, whichever comes first.
 */
const CHUNK = 256;
/**
 * Body bytes per LevelDB batch (a single larger call still goes alone). Every byte of a batch is
 * held several times at once while it is written (the encoded value, LevelDB's batch copy, its
 * memtable), so large answers are written a few at a time rather than 32 MiB at once.
 */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Calls removed per retention pass, so a large cleanup cannot delay queued writes for long. */
const EVICT_PER_PASS = 5000;
const DROP_LOG_INTERVAL_MS = 5000;
/** While the disk is full, how often the recorder tries to write again. */
const DISK_FULL_RETRY_MS = 1000;

/**
 * The recording sink. onCallEnd only filters and queues (O(1), never throws, never waits); a
 * timer-driven batch writer does redaction, id extraction, encoding and the LevelDB batch. On a
 * thread of its own the first three can move to onCallEnd (RecorderOptions.prepareOnArrival).
 */
export class Recorder implements CallSink {
  readonly needsBodies = true;
  /** Large bodies arrive in parts and go to files beside LevelDB (body-store.ts). */
  readonly spoolsBodies = true;
  private readonly spool: BodySpool;
  /** Repeated bodies are stored once (repeated-bodies.ts). */
  private readonly repeated: RepeatedBodies;
  private lostBodiesLogged = 0;
  private queue: Queued[] = [];
  /** bodyBytes of each queued call, in queue order: what is given back through `release` once it is written. */
  private queueBodyBytes: number[] = [];
  private readonly prepareOnArrival: boolean;
  private inFlight = 0;
  private recorded = 0;
  private dropped = 0;
  /** Drops not yet added to the stored counters. */
  private droppedUnsaved = 0;
  private droppedUnlogged = 0;
  private lastDropLog = 0;
  private writeErrors = 0;
  private lastErrorLog = 0;
  private work: Promise<void> = Promise.resolve();
  private busy = false;
  private closed = false;
  private readonly wanted: (path: string) => boolean;
  private readonly queueLimit: number;
  private readonly queueBytesLimit: number;
  private queuedBytes = 0;
  private readonly redaction: RedactionRules | undefined;
  /** Keyed hashes of every value redacted so far, so later calls that repeat one are scrubbed. */
  private readonly secrets: SecretMemory;
  private readonly limits: RetentionLimits;
  private readonly logger: Logger;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly release: ((bytes: number) => void) | undefined;
  private flushSoon = false;
  private readonly retentionTimer: NodeJS.Timeout | undefined;
  /**
   * Set while the disk is full: nothing is queued (every call is counted as dropped), and a timer
   * reopens the recording until a write succeeds. LevelDB keeps failing every write after its
   * first failed one, even with space back, so resuming means reopening it.
   */
  private diskFull: { since: number; dropped: number; retry: NodeJS.Timeout } | undefined;
  /** Calls of the batch whose write found the disk full (counted as dropped already). */
  private failedForDiskFull = 0;

  constructor(private store: Store, opts: RecorderOptions) {
    this.wanted = makeMethodFilter(opts.methods, opts.exclude);
    this.queueLimit = opts.queueLimit ?? 50_000;
    this.queueBytesLimit = opts.queueBytesLimit ?? 32 * 1024 * 1024;
    this.redaction = redactionRules(opts);
    this.secrets = opts.secrets ?? new SecretMemory();
    this.limits = { maxCalls: opts.maxCalls, maxBytes: opts.maxBytes, maxAgeMs: opts.maxAgeMs };
    this.logger = opts.logger ?? silentLogger;
    this.release = opts.release;
    this.prepareOnArrival = opts.prepareOnArrival ?? false;
    this.spool = new BodySpool(store.dir);
    this.repeated = new RepeatedBodies(new BodySpool(store.dir), () => this.store.shared);
    // Timers are unref'd: the recorder must not be what keeps a process alive.
    this.flushTimer = setInterval(() => this.tick(), opts.flushIntervalMs ?? 50).unref();
    const hasLimits = this.limits.maxCalls !== undefined || this.limits.maxBytes !== undefined || this.limits.maxAgeMs !== undefined;
    if (hasLimits) {
      this.retentionTimer = setInterval(() => void this.serial(() => this.retain(EVICT_PER_PASS)), opts.retentionIntervalMs ?? 1000).unref();
    }
  }

  /** One part of a large body, in order: appended to its file now, and its bytes given back. */
  onBodyPart(id: number, part: Buffer): void {
    try {
      if (!this.closed) this.spool.append(id, part);
    } finally {
      this.release?.(part.length);
    }
  }

  onBodyAbort(id: number): void {
    this.spool.abort(id);
  }

  onCallEnd(call: CallRecord): void {
    const bytes = bodyBytes(call);
    // Every way out below but the queue: the call's spooled bodies will never be stored.
    const spooled = hasSpooled(call);
    if (spooled && (!this.wanted(call.method) || this.diskFull || this.closed)) abortSpooled(call, this.spool);
    if (!this.wanted(call.method)) {
      this.release?.(bytes);
      return;
    }
    if (this.diskFull) {
      this.release?.(bytes);
      this.diskFull.dropped++;
      this.dropped++;
      this.droppedUnsaved++;
      return;
    }
    const full = this.queue.length >= this.queueLimit || (this.queuedBytes + bytes > this.queueBytesLimit && this.queue.length > 0);
    if (this.closed || full) {
      if (spooled && !this.closed) abortSpooled(call, this.spool);
      this.release?.(bytes);
      this.countDrop(1);
      return;
    }
    let entry: Queued = call;
    if (this.prepareOnArrival && !spooled) {
      const prepared = this.tryPrepare(call);
      if (prepared === undefined) {
        this.release?.(bytes);
        return;
      }
      entry = prepared;
    }
    this.queuedBytes += bytes;
    this.queue.push(entry);
    this.queueBodyBytes.push(bytes);
    // Large bodies hold the capture budget until written: write them now, not at the next tick.
    if (this.queuedBytes >= BATCH_BYTES && !this.busy && !this.flushSoon) {
      this.flushSoon = true;
      setImmediate(() => {
        this.flushSoon = false;
        this.tick();
      });
    }
  }

  stats(): { recorded: number; dropped: number; queued: number } {
    return { recorded: this.recorded, dropped: this.dropped, queued: this.queue.length + this.inFlight };
  }

  /** Resolves when every call queued before it is in LevelDB. */
  flush(): Promise<void> {
    return this.serial(() => this.drain());
  }

  /** Writes everything still queued, applies retention once more, and closes the folder. */
  async close(): Promise<void> {
    if (this.closed) return this.work;
    this.closed = true;
    clearInterval(this.flushTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.serial(async () => {
      try {
        // A last try to store what was counted; if the disk is still full, say what is lost.
        if (this.diskFull && !(await this.tryResume())) {
          this.logger.error('recorder closed while the disk was full; the recording holds the calls written before it filled', {
            dir: this.store.dir,
            droppedUncounted: this.droppedUnsaved,
            hint: `the recording's counters miss these ${this.droppedUnsaved} dropped calls`,
          });
          this.droppedUnsaved = 0;
          return;
        }
        await this.drain();
        await this.retain(Infinity);
      } finally {
        this.logDrops(true);
        // Bodies of calls that never reached the recorder (cut off as it closed).
        this.spool.abortAll();
        this.repeated.forget();
        await this.store.close();
      }
    });
  }

  /** `slow`: dropped because the writer fell behind (said in a warning); otherwise the caller says why. */
  private countDrop(n: number, slow = true): void {
    this.dropped += n;
    this.droppedUnsaved += n;
    if (!slow) return;
    this.droppedUnlogged += n;
    this.logDrops(false);
  }

  /** At most one warning every few seconds, however many calls are dropped. */
  private logDrops(force: boolean): void {
    if (this.droppedUnlogged === 0) return;
    const now = Date.now();
    if (!force && now - this.lastDropLog < DROP_LOG_INTERVAL_MS) return;
    this.lastDropLog = now;
    this.logger.warn('recorder dropped calls: the writer could not keep up', {
      dropped: this.droppedUnlogged,
      droppedTotal: this.dropped,
      queueLimit: this.queueLimit,
      dir: this.store.dir,
    });
    this.droppedUnlogged = 0;
  }

  /** A failing disk fails every batch: say so once every few seconds, with how many failed since. */
  private logWriteError(err: unknown): void {
    this.writeErrors++;
    const now = Date.now();
    if (now - this.lastErrorLog < DROP_LOG_INTERVAL_MS) return;
    this.lastErrorLog = now;
    this.logger.error('recorder write failed; the calls of failed batches are counted as dropped', {
      dir: this.store.dir,
      error: (err as Error).message,
      failures: this.writeErrors,
    });
    this.writeErrors = 0;
  }

  private tick(): void {
    if (this.diskFull) return;
    if (this.busy || (this.queue.length === 0 && this.droppedUnsaved === 0)) return;
    void this.flush();
  }

  /** Runs store work one piece at a time; a failure is logged and never rejects into callers' paths. */
  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.work.then(async () => {
      this.busy = true;
      try {
        await fn();
      } catch (err) {
        if (isDiskFull(err)) this.stopForDiskFull(err);
        else this.logWriteError(err);
      } finally {
        this.busy = false;
      }
    });
    this.work = next;
    return next;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 || this.droppedUnsaved > 0) {
      const next = this.prepareNext();
      this.inFlight = next.calls;
      try {
        await this.writePrepared(next.prepared);
      } finally {
        this.inFlight = 0;
        this.release?.(next.bytes);
      }
    }
  }

  /**
   * Takes the next batch off the queue and prepares it. Synchronous and apart from drain on
   * purpose: the calls taken are referenced from this frame only, so they are garbage by the time
   * drain awaits LevelDB's write. Held across that await (an async function keeps its frame), a
   * batch of calls, with their headers and message views, stayed alive through the write, long
   * enough for a scavenge on the observer thread's small young generation to copy it.
   */
  private prepareNext(): { prepared: PreparedCall[]; calls: number; bytes: number } {
    let take = 0;
    let bytes = 0;
    while (take < this.queue.length && take < CHUNK && (take === 0 || bytes < BATCH_BYTES)) {
      bytes += this.queueBodyBytes[take]!;
      take++;
    }
    const batch = this.queue.splice(0, take);
    this.queueBodyBytes.splice(0, take);
    this.queuedBytes -= bytes;
    try {
      return { prepared: this.prepareBatch(batch), calls: take, bytes };
    } catch (err) {
      // Never expected (each call's failure is caught), but the bytes are given back all the same.
      this.release?.(bytes);
      throw err;
    }
  }

  /** Prepares each call of a batch not prepared yet; a call that cannot be made safe to store is dropped (and counted). */
  private prepareBatch(batch: Queued[]): PreparedCall[] {
    const prepared: PreparedCall[] = [];
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i]!;
      const p = isPrepared(entry) ? entry : this.tryPrepare(entry);
      if (p !== undefined) prepared.push(p);
    }
    return prepared;
  }

  /** The call ready to store, or undefined when it cannot be made safe to store: then it is dropped (and counted). */
  private tryPrepare(call: CallRecord): PreparedCall | undefined {
    let files: string[] = [];
    let p: PreparedCall | undefined;
    try {
      if (!hasSpooled(call)) return prepareCall(call, this.redaction, this.secrets, undefined, this.repeated);
      const settled = settleSpooled(call, this.spool, this.store.dir, this.redaction, this.secrets);
      files = settled.files;
      if (settled.lost.length > 0) this.logLostBodies(call.method, settled.lost);
      p = prepareCall(settled.call, this.redaction, this.secrets, settled.flags, this.repeated);
      keepNamedFiles(p, files, this.store.dir);
      return p;
    } catch (err) {
      for (const f of files) removeBodyFileNow(this.store.dir, f);
      if (p) this.repeated.release(p);
      this.logger.warn('recorder could not encode a call; dropped it', { method: call.method, error: (err as Error).message });
      this.countDrop(1);
      return undefined;
    }
  }

  /** Stores prepared calls in one batch; they count as recorded, or as dropped when the write fails. */
  private async writePrepared(prepared: PreparedCall[]): Promise<void> {
    const drops = this.droppedUnsaved;
    this.droppedUnsaved = 0;
    try {
      await this.store.storeCalls(prepared, drops);
      this.recorded += prepared.length;
      // Stored: the files' counts hold them now.
      for (const p of prepared) this.repeated.release(p);
    } catch (err) {
      // The calls are not stored: neither are their body files.
      for (const p of prepared) for (const f of p.bodyFiles ?? []) removeBodyFileNow(this.store.dir, f.file);
      for (const p of prepared) this.repeated.release(p);
      this.droppedUnsaved += drops;
      const diskFull = isDiskFull(err);
      this.countDrop(prepared.length, !diskFull);
      if (diskFull) this.failedForDiskFull = prepared.length;
      throw err;
    }
  }

  /** A large body that could not be written (disk full, I/O error): its call is stored truncated. Said at most every few seconds. */
  private logLostBodies(method: string, lost: string[]): void {
    const now = Date.now();
    if (now - this.lostBodiesLogged < DROP_LOG_INTERVAL_MS) return;
    this.lostBodiesLogged = now;
    this.logger.warn('recorder could not keep a large body; the call is stored without it (truncated)', { method, dir: this.store.dir, why: lost.join('; ') });
  }

  /** The disk is full: say so once, count what is queued as dropped, and try again later. */
  private stopForDiskFull(err: unknown): void {
    if (this.diskFull) return;
    let queuedBytes = 0;
    for (let i = 0; i < this.queue.length; i++) {
      queuedBytes += this.queueBodyBytes[i]!;
      const entry = this.queue[i]!;
      if (!isPrepared(entry)) abortSpooled(entry, this.spool);
    }
    const queued = this.queue.length;
    this.queue = [];
    this.queueBodyBytes = [];
    this.queuedBytes = 0;
    this.release?.(queuedBytes);
    this.dropped += queued;
    this.droppedUnsaved += queued;
    const retry = setInterval(() => {
      if (!this.busy && !this.closed) void this.serial(async () => void (await this.tryResume()));
    }, DISK_FULL_RETRY_MS).unref();
    this.diskFull = { since: Date.now(), dropped: queued + this.failedForDiskFull, retry };
    this.failedForDiskFull = 0;
    this.logger.error('recorder stopped: the disk is full', {
      dir: this.store.dir,
      error: (err as Error).message,
      hint: 'forwarding goes on; every call is counted as dropped until there is space again; the recorder checks every second and resumes by itself',
    });
  }

  /** Reopens the recording and stores the drop count; true once that worked (recording resumed). */
  private async tryResume(): Promise<boolean> {
    const full = this.diskFull;
    if (!full) return true;
    const dir = this.store.dir;
    try {
      // Calls queued when the disk filled were dropped with their pins; the store's close lets go of those files.
      this.repeated.forget();
      await this.store.close().catch(() => {});
      this.store = await Store.open(dir, 'write');
      const drops = this.droppedUnsaved;
      this.droppedUnsaved = 0;
      try {
        await this.store.storeCalls([], drops);
      } catch (err) {
        this.droppedUnsaved += drops;
        throw err;
      }
    } catch (err) {
      if (!isDiskFull(err)) this.logWriteError(err);
      return false;
    }
    clearInterval(full.retry);
    this.diskFull = undefined;
    this.logger.warn('recorder resumed', {
      dir,
      dropped: full.dropped,
      fullForMs: Date.now() - full.since,
      hint: `${full.dropped} calls made while the disk was full are not in the recording (counted as dropped)`,
    });
    return true;
  }

  private async retain(maxRemove: number): Promise<void> {
    const removed = await this.store.evict(this.limits, nowNs(), maxRemove);
    if (removed > 0) this.logger.debug('retention removed old calls', { removed, dir: this.store.dir });
  }
}

/** Opens (or creates) the recording and starts the batch writer. Bad redaction paths throw before anything is opened. */
export async function openRecorder(opts: RecorderOptions): Promise<Recorder> {
  const rules = redactionRules(opts);
  if (rules) validateRedactionRules(rules);
  for (const m of opts.methods ?? []) checkMethodPattern(m, 'methods');
  for (const m of opts.exclude ?? []) checkMethodPattern(m, 'exclude');
  return new Recorder(await openStoreForWriting(opts.dir, opts.logger), opts);
}
