/**
 * Buffers for the parts of spooled bodies, used again once written. A part goes from the
 * forwarding thread to the observer thread (moved, not copied) and, once the recorder has
 * written it, comes back here. Without this every part would be a fresh allocation freed only
 * by the observer thread's next garbage collection, and glibc keeps freed blocks of this size
 * in its arenas: in the 64 × 8 MiB benchmark that was about 80 MB of RSS over what was in flight.
 *
 * The free list is dropped after a quiet spell, so a burst of large answers does not leave its
 * buffers held for the life of the proxy.
 */
const IDLE_TRIM_MS = 2000;

export class PartPool {
  private free: ArrayBuffer[] = [];
  private lastTaken = 0;
  private readonly trimTimer: NodeJS.Timeout;

  /**
   * @param partBytes size of every buffer (a body's last part is a shorter view of one).
   * @param maxFree buffers kept for use again at most (about what the capture budget lets be in flight).
   */
  constructor(
    readonly partBytes: number,
    private readonly maxFree: number,
  ) {
    this.trimTimer = setInterval(() => {
      if (this.free.length > 0 && Date.now() - this.lastTaken >= IDLE_TRIM_MS) this.free = [];
    }, IDLE_TRIM_MS).unref();
  }

  /** A buffer for a part of `bytes` (at most partBytes). */
  take(bytes: number): Buffer {
    if (bytes > this.partBytes) throw new RangeError(`a part of ${bytes} bytes is larger than the pool's ${this.partBytes}`);
    this.lastTaken = Date.now();
    const ab = this.free.pop() ?? new ArrayBuffer(this.partBytes);
    return Buffer.from(ab, 0, bytes);
  }

  /** A part's buffer back, once nothing uses it any more. Buffers of another size are left to the GC. */
  give(ab: ArrayBuffer): void {
    if (ab.byteLength === this.partBytes && this.free.length < this.maxFree) this.free.push(ab);
  }

  get freeBuffers(): number {
    return this.free.length;
  }

  close(): void {
    clearInterval(this.trimTimer);
    this.free = [];
  }
}
