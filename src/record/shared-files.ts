/**
 * Body files that several calls name: a repeated body kept once (repeated-bodies.ts). Retention
 * may remove such a file only when the last call naming it goes, so the store counts, per file,
 * the stored calls that name it, in an `f<file>` entry (keys.ts) written in the same atomic batch
 * as those calls: the count is never ahead of or behind the calls, whatever stops the process.
 *
 * A file is also held by this process while it may still be named by a call not stored yet (a
 * pin): the writer's memory of recent bodies holds one per file it remembers, and each prepared
 * call one per file it names until its batch is written or given up. A file is removed once no
 * stored call names it and nothing pins it. Pins live in memory only: closing the store removes
 * the files that are pinned and named by no stored call; a crash leaves them to the orphan sweep
 * of the next writer (orphan-bodies.ts), as it does any body file no call names.
 */
import { removeBodyFileNow } from './body-store.js';
import { SHARED_FILE_END, SHARED_FILE_PREFIX } from './keys.js';
import type { Db } from './store.js';

/** New counts of the files one batch changes, applied to SharedFiles once the batch is written. */
export class SharedCounts {
  readonly counts = new Map<string, number>();

  constructor(private readonly shared: SharedFiles) {}

  private count(file: string): number {
    return this.counts.get(file) ?? this.shared.count(file);
  }

  /** A stored call names the file; true when it is the first (its bytes count from now on). */
  add(file: string): boolean {
    const n = this.count(file);
    this.counts.set(file, n + 1);
    return n === 0;
  }

  /** A call naming the file is removed; true when it was the last (its bytes count no more). */
  remove(file: string): boolean {
    const n = this.count(file);
    if (n === 0) return false;
    this.counts.set(file, n - 1);
    return n === 1;
  }

  /** Whether the file is counted (named by a stored call, or by one of this batch). */
  has(file: string): boolean {
    return this.counts.has(file) || this.shared.count(file) > 0;
  }

  /** The entries to write with the batch: the new count, or a delete at zero. */
  entries(): Array<{ type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }> {
    const out: Array<{ type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }> = [];
    for (const [file, n] of this.counts) {
      const key = SHARED_FILE_PREFIX + file;
      out.push(n > 0 ? { type: 'put', key, value: Buffer.from(String(n)) } : { type: 'del', key });
    }
    return out;
  }
}

export class SharedFiles {
  private readonly counts = new Map<string, number>();
  private readonly pins = new Map<string, number>();

  private constructor(private readonly dir: string) {}

  /** The counts of a recording opened for writing (a few entries: one per repeated body kept). */
  static async load(db: Db, dir: string): Promise<SharedFiles> {
    const shared = new SharedFiles(dir);
    for await (const [key, value] of db.iterator({ gte: SHARED_FILE_PREFIX, lt: SHARED_FILE_END })) {
      const n = Number(value.toString('latin1'));
      // A damaged count keeps its file: losing a body is worse than keeping a file too long.
      shared.counts.set(key.slice(SHARED_FILE_PREFIX.length), Number.isSafeInteger(n) && n > 0 ? n : 1);
    }
    return shared;
  }

  /** Stored calls that name the file. */
  count(file: string): number {
    return this.counts.get(file) ?? 0;
  }

  /** A batch's changes, once it is written; removes the files no call names and nothing pins. */
  apply(batch: SharedCounts): void {
    for (const [file, n] of batch.counts) {
      if (n > 0) this.counts.set(file, n);
      else {
        this.counts.delete(file);
        if (!this.pins.has(file)) removeBodyFileNow(this.dir, file);
      }
    }
  }

  pin(file: string): void {
    this.pins.set(file, (this.pins.get(file) ?? 0) + 1);
  }

  unpin(file: string): void {
    const n = (this.pins.get(file) ?? 0) - 1;
    if (n > 0) {
      this.pins.set(file, n);
      return;
    }
    this.pins.delete(file);
    if (!this.counts.has(file)) removeBodyFileNow(this.dir, file);
  }

  /** Closing: pinned files no stored call names will never be named (a writer's pins die with it). */
  unpinAll(): void {
    for (const file of [...this.pins.keys()]) {
      this.pins.delete(file);
      if (!this.counts.has(file)) removeBodyFileNow(this.dir, file);
    }
  }
}
