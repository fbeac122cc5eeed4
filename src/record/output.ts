import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Line output that waits when the reader is slow (so exporting a big recording does not buffer it
 * all in memory) and stops quietly when the reader goes away (`critap show rec | head`).
 */
export class LineOutput {
  private closedByReader = false;
  /** A write error other than EPIPE (disk full for --out): reported by end(). */
  private failure: Error | undefined;

  constructor(private readonly stream: Writable) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closedByReader = true;
      else this.failure ??= err;
    });
  }

  /** False once the reader has gone: callers stop producing. */
  get open(): boolean {
    return !this.closedByReader;
  }

  async write(text: string): Promise<boolean> {
    if (this.closedByReader) return false;
    if (!this.stream.write(text)) {
      try {
        await Promise.race([once(this.stream, 'drain'), once(this.stream, 'close')]);
      } catch (err) {
        // events.once rejects on 'error'; a gone reader is a normal end, anything else is not.
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
        this.closedByReader = true;
      }
    }
    return !this.closedByReader;
  }

  async end(): Promise<void> {
    if (!this.closedByReader && this.stream !== process.stdout && !this.failure) {
      this.stream.end();
      await once(this.stream, 'finish').catch((err: Error) => (this.failure ??= err));
    }
    if (this.failure) throw new Error(`critap: writing the output failed: ${this.failure.message}`);
  }
}
