/**
 * The recorder's queue of prepared calls waiting for their LevelDB batch, held as flat data: a
 * call waits up to a flush interval (50 ms), long enough to live through scavenges of the
 * observer thread's young generation, and every object it holds is copied by each of them, then
 * promoted and left for a full GC. So a queued call holds no object of its own when it can help
 * it: its value's bytes go back to back into one buffer (the arena), its start time into a
 * BigInt64Array, its method is one string shared by every call of that method, and its ids are
 * held only when it has some. The PreparedCall objects the store takes are made when a batch is
 * taken, and die young.
 */
import type { CallIds } from '../cri/ids.js';
import type { PreparedCall } from './store.js';

/** Values up to this size are copied into the arena; larger ones (rare) are held as they are. */
const ARENA_VALUE_MAX = 64 * 1024;
/** Room for a batch of small calls (256 Version calls take about 120 KiB). */
const FIRST_ARENA_BYTES = 256 * 1024;
const FIRST_SLOTS = 1024;
/** Distinct method strings shared at most (a client sending made-up paths cannot grow it further). */
const METHODS_MAX = 1024;
const NO_BYTES = Buffer.alloc(0);

export class PreparedQueue {
  /** Values of queued calls, back to back: the first `used` bytes. Never written once a batch has views onto it. */
  private arena: Buffer = NO_BYTES;
  private used = 0;
  /** Per queued call, oldest first: where its value ends in the arena (or -1: in `large`). */
  private ends: number[] = [];
  private startNs = new BigInt64Array(FIRST_SLOTS);
  private methods: string[] = [];
  private ids: (CallIds | undefined)[] = [];
  private redacted: boolean[] = [];
  /** Body bytes each call holds against the capture budget (given back when it is written). */
  private heldBytes: number[] = [];
  /** Values too large for the arena, and body files, by position: both rare, so kept sparse. */
  private large = new Map<number, Buffer>();
  private files = new Map<number, NonNullable<PreparedCall['bodyFiles']>>();
  /** Position of ends[0] since the queue began (keys of `large` and `files` are positions). */
  private head = 0;
  private readonly sharedMethods = new Map<string, string>();
  private totalHeld = 0;

  get length(): number {
    return this.ends.length;
  }

  /** Body bytes held by every queued call. */
  get held(): number {
    return this.totalHeld;
  }

  /** Body bytes held by the call `i` places from the oldest. */
  heldAt(i: number): number {
    return this.heldBytes[i]!;
  }

  push(call: PreparedCall, held: number): void {
    const n = this.ends.length;
    const position = this.head + n;
    if (n === this.startNs.length) {
      const grown = new BigInt64Array(n * 2);
      grown.set(this.startNs);
      this.startNs = grown;
    }
    this.startNs[n] = call.startNs;
    if (call.value.length > ARENA_VALUE_MAX) {
      this.large.set(position, call.value);
      this.ends.push(-1);
    } else {
      if (this.used + call.value.length > this.arena.length) this.grow(call.value.length);
      this.used += call.value.copy(this.arena, this.used);
      this.ends.push(this.used);
    }
    this.methods.push(this.shared(call.method));
    this.ids.push(hasIds(call.ids) ? call.ids : undefined);
    this.redacted.push(call.redacted);
    this.heldBytes.push(held);
    this.totalHeld += held;
    if (call.bodyFiles) this.files.set(position, call.bodyFiles);
  }

  /**
   * The oldest `n` calls, as the store takes them; their values are views onto the current
   * arena, which from now on belongs to them (calls still queued move to a new one).
   */
  take(n: number): { calls: PreparedCall[]; held: number } {
    const calls = new Array<PreparedCall>(n);
    let start = 0;
    let held = 0;
    for (let i = 0; i < n; i++) {
      const position = this.head + i;
      const end = this.ends[i]!;
      let value: Buffer;
      if (end < 0) {
        value = this.large.get(position)!;
        this.large.delete(position);
      } else {
        value = this.arena.subarray(start, end);
        start = end;
      }
      const call: PreparedCall = { startNs: this.startNs[i]!, method: this.methods[i]!, value, ids: this.ids[i] ?? {}, redacted: this.redacted[i]! };
      const files = this.files.get(position);
      if (files) {
        call.bodyFiles = files;
        this.files.delete(position);
      }
      calls[i] = call;
      held += this.heldBytes[i]!;
    }
    this.removeFirst(n, start);
    this.totalHeld -= held;
    return { calls, held };
  }

  /** Empties the queue: the body files its calls named (to remove) and the body bytes they held. */
  clear(): { bodyFiles: string[]; held: number } {
    const bodyFiles: string[] = [];
    for (const files of this.files.values()) for (const f of files) bodyFiles.push(f.file);
    const held = this.totalHeld;
    this.head += this.ends.length;
    this.ends = [];
    this.methods = [];
    this.ids = [];
    this.redacted = [];
    this.heldBytes = [];
    this.large.clear();
    this.files.clear();
    this.totalHeld = 0;
    this.arena = NO_BYTES;
    this.used = 0;
    return { bodyFiles, held };
  }

  /** Drops the oldest `n` calls, whose arena bytes end at `bytes`. */
  private removeFirst(n: number, bytes: number): void {
    const rest = this.ends.length - n;
    this.head += n;
    this.methods.splice(0, n);
    this.ids.splice(0, n);
    this.redacted.splice(0, n);
    this.heldBytes.splice(0, n);
    this.startNs.copyWithin(0, n, n + rest);
    const old = this.arena;
    const oldUsed = this.used;
    this.arena = NO_BYTES;
    this.used = 0;
    if (rest === 0) {
      this.ends.length = 0;
      return;
    }
    const restBytes = oldUsed - bytes;
    if (restBytes > 0) {
      this.arena = Buffer.allocUnsafeSlow(restBytes + FIRST_ARENA_BYTES);
      old.copy(this.arena, 0, bytes, oldUsed);
      this.used = restBytes;
    }
    const ends = new Array<number>(rest);
    for (let i = 0; i < rest; i++) {
      const end = this.ends[n + i]!;
      ends[i] = end < 0 ? -1 : end - bytes;
    }
    this.ends = ends;
  }

  /** A larger arena holding what is queued (no views onto the old one exist yet). */
  private grow(need: number): void {
    // A new arena starts small again after every batch, so a burst of large values is not held after it.
    const next = Buffer.allocUnsafeSlow(Math.max(FIRST_ARENA_BYTES, this.arena.length * 2, this.used + need));
    this.arena.copy(next, 0, 0, this.used);
    this.arena = next;
  }

  private shared(method: string): string {
    const known = this.sharedMethods.get(method);
    if (known !== undefined) return known;
    if (this.sharedMethods.size < METHODS_MAX) this.sharedMethods.set(method, method);
    return method;
  }
}

function hasIds(ids: CallIds): boolean {
  for (const _ in ids) return true;
  return false;
}
