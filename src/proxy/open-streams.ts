/**
 * A connection's open calls by stream id, in a list sorted by id.
 *
 * A Map did this before, but a Map whose entries come and go (one per call) keeps growing and
 * rehashing its table: about 56 bytes per call on the forwarding thread. A connection has few
 * calls open at once, and a client opens its streams in increasing id order (RFC 9113 §5.1.1),
 * so a new call goes at the end and lookups are a short scan (a binary search when many are
 * open). The list's slots are reused and never given back, so a steady connection allocates
 * nothing here.
 */
export interface HasStreamId {
  id: number;
}

/** Up to this many open calls, lookups scan from the newest; past it they bisect. */
const SCAN_MAX = 8;

export class OpenStreams<T extends HasStreamId> {
  /** slots[0…count) are the open calls, ids ascending; later slots are null. */
  private readonly slots: Array<T | null> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const i = this.indexOf(id);
    return i < 0 ? undefined : this.slots[i]!;
  }

  has(id: number): boolean {
    return this.indexOf(id) >= 0;
  }

  /** Adds a call; one with the same id is replaced. */
  set(s: T): void {
    const slots = this.slots;
    let at = this.count;
    // Usually the newest id: at the end. Otherwise moved into place (a client breaking §5.1.1).
    while (at > 0 && slots[at - 1]!.id >= s.id) at--;
    if (at < this.count && slots[at]!.id === s.id) {
      slots[at] = s;
      return;
    }
    if (this.count === slots.length) slots.push(null);
    for (let i = this.count; i > at; i--) slots[i] = slots[i - 1]!;
    slots[at] = s;
    this.count++;
  }

  delete(id: number): boolean {
    const i = this.indexOf(id);
    if (i < 0) return false;
    const slots = this.slots;
    const last = --this.count;
    for (let j = i; j < last; j++) slots[j] = slots[j + 1]!;
    slots[last] = null;
    return true;
  }

  /** The open calls, oldest first, in a list of their own (callers end calls while walking it). */
  snapshot(): T[] {
    return this.slots.slice(0, this.count) as T[];
  }

  private indexOf(id: number): number {
    const slots = this.slots;
    const n = this.count;
    if (n <= SCAN_MAX) {
      for (let i = n - 1; i >= 0; i--) if (slots[i]!.id === id) return i;
      return -1;
    }
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const midId = slots[mid]!.id;
      if (midId === id) return mid;
      if (midId < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
