/**
 * Reassembles gRPC length-prefixed messages (1 byte compressed flag, 4 bytes length, body)
 * from the DATA slices of one stream direction.
 *
 * Bodies are copied only when asked for and only up to `captureLimit`; a message that claims
 * more (say, a hostile 2 GiB length) is counted and skipped, never buffered.
 */
import { copyBytes } from '../copy-bytes.js';

export interface MessageSink {
  /** A complete message; `body` is null when it was not captured (too large or capture off). */
  message(body: Buffer | null, length: number, compressed: boolean): void;
  /**
   * With spooling (`spoolFrom`): a large body comes in parts, in order, each a Buffer of its own
   * (never a view of the input), then spooled() once it is whole.
   */
  part?(data: Buffer): void;
  spooled?(length: number, compressed: boolean): void;
  /**
   * A spooled body will not be finished: `reserve` refused a part. Its message then ends with
   * message(null, …) like any body not kept. (A stream cut inside it shows as `spoolOpen`.)
   */
  abort?(): void;
}

export interface SpoolOptions {
  /** Bodies from this length on are spooled (given in parts) rather than held whole. */
  spoolFrom: number;
  /** Size of each part (the last one of a body may be shorter). */
  partBytes: number;
  /** Asked for each piece copied into a part, in place of `reserve`; false ends the body's spooling (sink.abort). */
  reserve?: (bytes: number) => boolean;
  /** Where part buffers come from (default: a new one each, owning its memory). */
  newPart?: (bytes: number) => Buffer;
}

export class MessageAssembler {
  /** Prefix octets read of the next message (0-4), its flags octet and length as they arrive. */
  private prefixHave = 0;
  private prefixFlags = 0;
  private prefixLength = 0;
  private remaining = 0;
  private inBody = false;
  private length = 0;
  private compressed = false;
  private body: Buffer | null = null;
  private bodyHave = 0;
  /** Payload bytes seen, prefixes included. */
  totalBytes = 0;
  /**
   * Body bytes taken from `reserve` so far (to be given back when the call ends), less the
   * parts of spooled bodies already handed to the sink (whoever takes a part gives it back).
   */
  reserved = 0;
  /** The body being read is spooled: its parts go to sink.part. */
  private spooling = false;
  private spoolFailed = false;
  /** Body bytes not yet copied into a part. */
  private spoolLeft = 0;
  private part: Buffer | null = null;
  private partHave = 0;

  /**
   * @param reserve asked before each body is captured; false means "count it, do not keep it"
   *   (the proxy's memory budget for observers).
   */
  constructor(
    private readonly sink: MessageSink,
    private readonly capture: boolean,
    private readonly captureLimit: number,
    private readonly reserve?: (bytes: number) => boolean,
    private readonly spool?: SpoolOptions,
  ) {}

  /**
   * Back to a new stream's start, for use on another stream (the proxy's tap keeps a few per
   * connection: two assemblers per call were about a fifth of what observing allocated per call).
   */
  reset(): void {
    this.prefixHave = 0;
    this.prefixFlags = 0;
    this.prefixLength = 0;
    this.remaining = 0;
    this.inBody = false;
    this.length = 0;
    this.compressed = false;
    this.body = null;
    this.bodyHave = 0;
    this.totalBytes = 0;
    this.reserved = 0;
    this.spooling = false;
    this.spoolFailed = false;
    this.spoolLeft = 0;
    this.part = null;
    this.partHave = 0;
  }

  private spools(length: number): boolean {
    return this.spool !== undefined && this.capture && length >= this.spool.spoolFrom && length <= this.captureLimit && this.sink.part !== undefined;
  }

  /** Bytes copied into the part being filled (reserved, not yet handed to the sink). */
  get fillingBytes(): number {
    return this.part === null ? 0 : this.partHave;
  }

  /** A spooled body was cut off mid-way (the stream ended inside it): its parts will never be finished. */
  get spoolOpen(): boolean {
    return this.spooling && !this.spoolFailed;
  }

  /**
   * Copies n body bytes into parts, handing each full part to the sink. Bytes are reserved as
   * they are copied (a part's untouched pages cost no memory), so the budget counts what is held.
   */
  private spoolBytes(chunk: Buffer, pos: number, n: number): void {
    while (n > 0 && !this.spoolFailed) {
      if (this.part === null) {
        const size = Math.min(this.spool!.partBytes, this.spoolLeft);
        // allocUnsafeSlow: a buffer of its own (never a slice of a pool), so it can be moved to another thread.
        this.part = this.spool!.newPart ? this.spool!.newPart(size) : Buffer.allocUnsafeSlow(size);
        this.partHave = 0;
      }
      const k = Math.min(n, this.part.length - this.partHave);
      const reserve = this.spool!.reserve ?? this.reserve;
      if (reserve !== undefined && !reserve(k)) {
        this.spoolFailed = true;
        this.part = null;
        this.sink.abort?.();
        return;
      }
      this.reserved += k;
      chunk.copy(this.part, this.partHave, pos, pos + k);
      this.partHave += k;
      this.spoolLeft -= k;
      pos += k;
      n -= k;
      if (this.partHave === this.part.length) {
        const part = this.part;
        this.part = null;
        this.reserved -= part.length;
        this.sink.part!(part);
      }
    }
  }

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

  /** Reads chunk[start…end) (a DATA frame's payload within the chunk it came in, not a view of it). */
  push(chunk: Buffer, start = 0, end = chunk.length): void {
    this.totalBytes += end - start;
    let pos = start;
    while (pos < end) {
      if (!this.inBody) {
        if (this.prefixHave === 0 && end - pos >= 5) {
          this.prefixFlags = chunk[pos]!;
          this.prefixLength = chunk.readUInt32BE(pos + 1);
          pos += 5;
        } else {
          // A prefix split across chunks: taken an octet at a time.
          while (this.prefixHave < 5 && pos < end) {
            const b = chunk[pos++]!;
            if (this.prefixHave === 0) this.prefixFlags = b;
            else this.prefixLength = this.prefixLength * 256 + b;
            this.prefixHave++;
          }
          if (this.prefixHave < 5) return;
          this.prefixHave = 0;
        }
        this.compressed = (this.prefixFlags & 1) === 1;
        this.length = this.prefixLength;
        this.prefixLength = 0;
        this.remaining = this.length;
        this.bodyHave = 0;
        if (this.length === 0) {
          this.sink.message(this.capture ? Buffer.alloc(0) : null, 0, this.compressed);
          continue;
        }
        this.inBody = true;
        if (this.spools(this.length)) {
          this.spooling = true;
          this.spoolFailed = false;
          this.spoolLeft = this.length;
          this.part = null;
          continue;
        }
        const keep = this.keep(this.length);
        // Small message wholly inside this chunk: a single copy, no intermediate buffer.
        this.body = keep && end - pos < this.length ? Buffer.allocUnsafe(this.length) : null;
        if (keep && end - pos >= this.length) {
          // Copied without a view of the chunk first (Buffer.from(chunk.subarray(…)) made two Buffers).
          const body = Buffer.allocUnsafe(this.length);
          copyBytes(chunk, pos, body, 0, this.length);
          pos += this.length;
          this.inBody = false;
          this.sink.message(body, this.length, this.compressed);
          continue;
        }
      }
      const take = Math.min(this.remaining, end - pos);
      if (this.spooling) this.spoolBytes(chunk, pos, take);
      else if (this.body !== null) chunk.copy(this.body, this.bodyHave, pos, pos + take);
      this.bodyHave += take;
      this.remaining -= take;
      pos += take;
      if (this.remaining === 0) {
        this.inBody = false;
        if (this.spooling) {
          this.spooling = false;
          if (this.spoolFailed) this.sink.message(null, this.length, this.compressed);
          else this.sink.spooled!(this.length, this.compressed);
          continue;
        }
        const body = this.body;
        this.body = null;
        this.sink.message(body, this.length, this.compressed);
      }
    }
  }
}
