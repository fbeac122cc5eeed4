/**
 * A buffer written from the front and reused call after call (one thread, synchronous), grown
 * by doubling when a write needs more room: the base of critap's hand-rolled encoders (the JSON
 * and binary value headers of a recording, OTLP spans), which write bytes at `pos` themselves.
 */
export class GrowableBytes {
  buf: Buffer;
  pos = 0;

  constructor(initialSize: number) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Makes room for `n` more bytes at `pos`. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}
