/**
 * Reassembles gRPC length-prefixed messages (1 byte compressed flag, 4 bytes length, body)
 * from the DATA slices of one stream direction.
 *
 * Bodies are copied only when asked for and only up to `captureLimit`; a message that claims
 * more (say, a hostile 2 GiB length) is counted and skipped, never buffered.
 */
export interface MessageSink {
  /** A complete message; `body` is null when it was not captured (too large or capture off). */
  message(body: Buffer | null, length: number, compressed: boolean): void;
}

export class MessageAssembler {
  private readonly prefix = Buffer.alloc(5);
  private prefixHave = 0;
  private remaining = 0;
  private inBody = false;
  private length = 0;
  private compressed = false;
  private body: Buffer | null = null;
  private bodyHave = 0;
  /** Payload bytes seen, prefixes included. */
  totalBytes = 0;
  /** Body bytes taken from `reserve` so far (to be given back when the call ends). */
  reserved = 0;

  /**
   * @param reserve asked before each body is captured; false means "count it, do not keep it"
   *   (the proxy's memory budget for observers).
   */
  constructor(
    private readonly sink: MessageSink,
    private readonly capture: boolean,
    private readonly captureLimit: number,
    private readonly reserve?: (bytes: number) => boolean,
  ) {}

  private keep(length: number): boolean {
    if (!this.capture || length > this.captureLimit) return false;
    if (this.reserve === undefined) return true;
    if (!this.reserve(length)) return false;
    this.reserved += length;
    return true;
  }

  /** True when a message was cut off mid-way (the stream ended inside it). */
  get partial(): boolean {
    return this.inBody || this.prefixHave > 0;
  }

  push(chunk: Buffer): void {
    this.totalBytes += chunk.length;
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (!this.inBody) {
        const n = Math.min(5 - this.prefixHave, end - pos);
        if (n === 5) chunk.copy(this.prefix, 0, pos, pos + 5);
        else chunk.copy(this.prefix, this.prefixHave, pos, pos + n);
        this.prefixHave += n;
        pos += n;
        if (this.prefixHave < 5) return;
        this.prefixHave = 0;
        this.compressed = (this.prefix[0]! & 1) === 1;
        this.length = this.prefix.readUInt32BE(1);
        this.remaining = this.length;
        this.bodyHave = 0;
        if (this.length === 0) {
          this.sink.message(this.capture ? Buffer.alloc(0) : null, 0, this.compressed);
          continue;
        }
        this.inBody = true;
        const keep = this.keep(this.length);
        // Small message wholly inside this chunk: a single copy, no intermediate buffer.
        this.body = keep && end - pos < this.length ? Buffer.allocUnsafe(this.length) : null;
        if (keep && end - pos >= this.length) {
          const body = Buffer.from(chunk.subarray(pos, pos + this.length));
          pos += this.length;
          this.inBody = false;
          this.sink.message(body, this.length, this.compressed);
          continue;
        }
      }
      const take = Math.min(this.remaining, end - pos);
      if (this.body !== null) chunk.copy(this.body, this.bodyHave, pos, pos + take);
      this.bodyHave += take;
      this.remaining -= take;
      pos += take;
      if (this.remaining === 0) {
        this.inBody = false;
        const body = this.body;
        this.body = null;
        this.sink.message(body, this.length, this.compressed);
      }
    }
  }
}
