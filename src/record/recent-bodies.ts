/**
 * The last few distinct bodies seen, each with something made from it (its packed form, its
 * decoded view, …). A kubelet relists every second and the answer changes only when a pod does,
 * so most relist answers are the one before again: comparing the bytes (memcmp) costs a few
 * percent of packing or decoding them. Keys are copies: a body may be a view into a larger buffer
 * (a whole LevelDB value) that must not be kept alive by this.
 */
export class RecentBodies<T> {
  private readonly keys: Buffer[] = [];
  private readonly values: T[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  find(key: Buffer): T | undefined {
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i]!;
      if (k.length === key.length && k.equals(key)) return this.values[i];
    }
    return undefined;
  }

  remember(key: Buffer, value: T): void {
    this.keys[this.next] = Buffer.from(key);
    this.values[this.next] = value;
    this.next = (this.next + 1) % this.size;
  }
}
