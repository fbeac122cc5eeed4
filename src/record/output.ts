import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Line output that waits when the reader is slow (so exporting a big recording does not buffer it
 * all in memory) and stops quietly when the reader goes away (`critap show rec | head`).
 */
export class LineOutput {
  private closedByReader = false;

  constructor(private readonly stream: Writable) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closedByReader = true;
      else throw err;
    });
  }

  /** False once the reader has gone: callers stop producing. */
  get open(): boolean {
    return !this.closedByReader;
  }

  async write(text: string): Promise<boolean> {
    if (this.closedByReader) return false;
    if (!this.stream.write(text)) {
      await Promise.race([once(this.stream, 'drain'), once(this.stream, 'close')]);
    }
    return !this.closedByReader;
  }

  async end(): Promise<void> {
    if (this.closedByReader || this.stream === process.stdout) return;
    this.stream.end();
    await once(this.stream, 'finish');
  }
}
