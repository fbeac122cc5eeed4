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

  async write(text: string | Buffer): Promise<boolean> {
    if (this.closedByReader) return false;
    if (!this.stream.write(text)) {
      try {
        await this.drained();
      } catch (err) {
        // A gone reader is a normal end, anything else is not.
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
        this.closedByReader = true;
      }
    }
    return !this.closedByReader;
  }

  /**
   * Waits for 'drain' (or 'close', or an error), then removes all three listeners. Racing two
   * events.once calls instead left the loser's listeners behind on every slow write, and a big
   * export to a file tripped MaxListenersExceededWarning.
   */
  private drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        this.stream.off('drain', onDrain);
        this.stream.off('close', onDrain);
        this.stream.off('error', onError);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onError = (err: Error) => done(err);
      this.stream.on('drain', onDrain);
      this.stream.on('close', onDrain);
      this.stream.on('error', onError);
    });
  }

  async end(): Promise<void> {
    if (!this.closedByReader && this.stream !== process.stdout && !this.failure) {
      this.stream.end();
      await once(this.stream, 'finish').catch((err: Error) => (this.failure ??= err));
    }
    if (this.failure) throw new Error(`critap: writing the output failed: ${this.failure.message}`);
  }
}
