/**
 * A "N calls" counter on stderr for long exports and imports, shown only when stderr is a
 * terminal: in pipes and logs it would be noise.
 */
export class Progress {
  private readonly on: boolean;
  private last = 0;

  constructor(private readonly verb: string, stream: NodeJS.WriteStream = process.stderr) {
    this.on = stream.isTTY === true;
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  update(n: number): void {
    if (!this.on) return;
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    this.stream.write(`\r${this.verb} ${n} calls`);
  }

  done(n: number): void {
    if (this.on) this.stream.write(`\r${this.verb} ${n} calls\n`);
  }
}
