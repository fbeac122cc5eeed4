/**
 * A bound on the message bodies the proxy holds for its observers at once. Forwarding never waits
 * on it: a body that does not fit is still forwarded whole, the call is just recorded without it
 * (marked truncated). Without this, 64 concurrent 8 MiB answers would mean 512 MiB held for
 * recording on a kubelet node.
 */
export class CaptureBudget {
  private used = 0;
  /** Bodies not kept because the budget was full. */
  refused = 0;

  constructor(readonly limit: number) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) {
      this.refused++;
      return false;
    }
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get inUse(): number {
    return this.used;
  }
}
