/**
 * A bound on the message bodies held for observers at once. Forwarding never waits on it: a body
 * that does not fit is still forwarded whole, the call is just recorded without it (marked
 * truncated). Without this, 64 concurrent 8 MiB answers would mean 512 MiB held for recording on
 * a kubelet node.
 *
 * Bytes are taken when a body starts to be captured and given back by whoever holds the body
 * last: the proxy when its call ends, or, with a sink that says so (CallSink.releasesBudget), the
 * observers once they are done with it (the recorder: once it is written). The count lives in a
 * SharedArrayBuffer, so the observer thread gives bytes back directly, without a message to the
 * forwarding thread.
 */

/** Largest message body kept for observers by default (the kubelet's own message limit). */
export const DEFAULT_CAPTURE_LIMIT = 16 * 1024 * 1024;
export const DEFAULT_CAPTURE_BUDGET = 32 * 1024 * 1024;
/**
 * Bodies from this size on go to a sink that spools bodies (CallSink.spoolsBodies) in parts of
 * SPOOL_PART_BYTES as they arrive, instead of being held whole until their call ends: the budget
 * then bounds the parts in flight, not whole bodies, and 64 answers of 8 MiB at once are all kept.
 */
export const SPOOL_FROM_BYTES = 1024 * 1024;
export const SPOOL_PART_BYTES = 64 * 1024;
/**
 * Parts take the budget up to this share of it before the connection waits for the observers:
 * the recorder writes a part within milliseconds, so a few MiB in flight keep it busy, and the
 * rest of the budget stays for whole bodies (below SPOOL_FROM_BYTES).
 */
const SPOOL_SHARE = 4;
/** A refill of a thread's credit (CaptureBudget.take): at most this, and at most 1/CREDIT_SHARE of the limit. */
const CREDIT_BYTES = 64 * 1024;
const CREDIT_SHARE = 64;
/**
 * Longest a connection stops reading for the observers. The kubelet's calls must not hang on a
 * stalled disk: past this, forwarding goes on and large bodies are recorded truncated until the
 * observers catch up (CaptureBudget.stalled).
 */
export const MAX_BUDGET_WAIT_MS = 1000;

export class CaptureBudget {
  private readonly used: BigInt64Array;
  /** Bodies not kept because the budget was full (counted by the thread that takes). */
  refused = 0;

  /** @param shared the counter of another CaptureBudget (its `shared`), to account on the same bytes. */
  constructor(
    readonly limit: number,
    shared?: SharedArrayBuffer,
  ) {
    this.used = new BigInt64Array(shared ?? new SharedArrayBuffer(8));
    this.limitBig = BigInt(limit);
    this.creditChunk = Math.min(CREDIT_BYTES, Math.floor(limit / CREDIT_SHARE));
  }

  /** The counter, for a CaptureBudget on another thread. */
  get shared(): SharedArrayBuffer {
    return this.used.buffer as SharedArrayBuffer;
  }

  /**
   * Bytes this instance took from the shared counter ahead of need and has not handed out yet.
   * The forwarding thread takes two small bodies per call; taking each from the counter cost a
   * compare-and-swap on a cache line the observer thread writes for every call it gives back,
   * and four BigInts. Credit is taken CREDIT_BYTES at a time and counts as used in the shared
   * counter, so the bound holds as before; `inUse` leaves it out.
   */
  private credit = 0;
  /** How much credit one refill takes: a small share of the limit, so it never crowds out a body. */
  private readonly creditChunk: number;

  /**
   * Keeps `bytes` for a body if they fit: exactly when the bytes held (credit aside) plus these
   * stay within the limit, as if every body were taken from the shared counter itself.
   */
  take(bytes: number): boolean {
    if (bytes <= this.credit) {
      this.credit -= bytes;
      return true;
    }
    const short = bytes - this.credit;
    // What the body lacks, plus a refill of the credit if there is room; else just what it lacks.
    const refill = this.creditChunk > 0 && this.takeShared(short + this.creditChunk);
    if (refill || this.takeShared(short)) {
      this.credit = refill ? this.creditChunk : 0;
      return true;
    }
    this.refused++;
    return false;
  }

  private takeShared(bytes: number): boolean {
    const n = BigInt(bytes);
    const limit = this.limitBig;
    for (;;) {
      const now = Atomics.load(this.used, 0);
      const next = now + n;
      if (next > limit) return false;
      if (Atomics.compareExchange(this.used, 0, now, next) === now) return true;
    }
  }

  /** `limit` as a BigInt, made once: take() runs for every body captured. */
  private readonly limitBig: bigint;

  /**
   * Bytes of the budget held by calls still open on this thread (their bodies, and parts of
   * spooled bodies still being filled), counted by the proxy. They leave only once those calls
   * go on, so a connection waiting for the budget to drain must not wait for them (see
   * `drained`): what it waits for is the bytes already handed to the observers.
   */
  heldByOpenCalls = 0;

  /**
   * Counts bytes even past the limit (parts of spooled bodies: never refused; the proxy stops
   * reading instead, see `drained`). Returns whether the parts' share of the budget is used up.
   */
  force(bytes: number): boolean {
    const n = BigInt(bytes);
    return Number(Atomics.add(this.used, 0, n) + n) - this.credit > Math.floor(this.limit / SPOOL_SHARE);
  }

  /**
   * Set when a connection waited MAX_BUDGET_WAIT_MS and the observers still had not caught up
   * (a stalled disk, a stuck recorder): parts are then refused (those bodies are recorded
   * truncated) instead of stopping forwarding again, until the observers have drained.
   */
  stalled = false;

  /** After `force` went over: the observers have caught up (what open calls hold aside, half of the parts' share free). */
  get drained(): boolean {
    return this.inUse - this.heldByOpenCalls <= this.limit / SPOOL_SHARE / 2;
  }

  give(bytes: number): void {
    if (bytes <= 0) return;
    const n = BigInt(bytes);
    for (;;) {
      const now = Atomics.load(this.used, 0);
      const next = now > n ? now - n : 0n;
      if (Atomics.compareExchange(this.used, 0, now, next) === now) return;
    }
  }

  /** Bytes held for observers, on all threads (this instance's unused credit is not held). */
  get inUse(): number {
    return Number(Atomics.load(this.used, 0)) - this.credit;
  }
}

/** The budget's size: the one asked for (default 32 MiB), never below the largest body kept. */
export function captureBudgetLimit(budget: number | undefined, captureLimit: number): number {
  return Math.max(budget ?? DEFAULT_CAPTURE_BUDGET, captureLimit);
}
