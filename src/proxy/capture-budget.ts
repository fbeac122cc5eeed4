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
  }

  /** The counter, for a CaptureBudget on another thread. */
  get shared(): SharedArrayBuffer {
    return this.used.buffer as SharedArrayBuffer;
  }

  take(bytes: number): boolean {
    const n = BigInt(bytes);
    const limit = BigInt(this.limit);
    for (;;) {
      const now = Atomics.load(this.used, 0);
      if (now + n > limit) {
        this.refused++;
        return false;
      }
      if (Atomics.compareExchange(this.used, 0, now, now + n) === now) return true;
    }
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

  get inUse(): number {
    return Number(Atomics.load(this.used, 0));
  }
}

/** The budget's size: the one asked for (default 32 MiB), never below the largest body kept. */
export function captureBudgetLimit(budget: number | undefined, captureLimit: number): number {
  return Math.max(budget ?? DEFAULT_CAPTURE_BUDGET, captureLimit);
}
