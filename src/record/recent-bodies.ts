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

/** Smaller bodies are cheaper to make again than to compare and copy. */
export const REMEMBER_FROM_BYTES = 1024;

/**
 * RecentBodies for each message type, for readers that go through a recording in order (export,
 * show --json): what is made from a body of REMEMBER_FROM_BYTES or more is made once while the
 * body is one of the last `size` of its type. A kubelet's relists (sandboxes, containers, images,
 * stats) take turns, each usually the same answer as the one before.
 */
export class RecentBodiesByType<T> {
  private readonly byType = new Map<string, RecentBodies<T>>();

  constructor(private readonly size = 4) {}

  get(typeName: string, data: Buffer, make: () => T): T {
    if (data.length < REMEMBER_FROM_BYTES) return make();
    let recent = this.byType.get(typeName);
    if (recent === undefined) this.byType.set(typeName, (recent = new RecentBodies<T>(this.size)));
    let value = recent.find(data);
    if (value === undefined) recent.remember(data, (value = make()));
    return value;
  }
}
