/**
 * Counts spans that never reached the collector and says so in the log — at
 * most once a minute, because a collector that is down would otherwise turn
 * every kubelet call into a log line.
 */
import type { Logger } from '../log.js';

export class DropCounter {
  /** Every span lost since start, for the `critap_spans_dropped_total` metric. */
  total = 0;
  private unlogged = 0;
  private lastReason = '';
  private lastLogMs = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 60_000,
  ) {}

  add(n: number, reason: string): void {
    if (n <= 0) return;
    this.total += n;
    this.unlogged += n;
    this.lastReason = reason;
    if (this.timer) return;
    const wait = this.lastLogMs + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
    this.timer.unref();
  }

  /** Logs what was dropped since the last line; called on close as well. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.unlogged === 0) return;
    this.logger.warn('critap: spans dropped (forwarding is not affected)', {
      dropped: this.unlogged,
      total: this.total,
      reason: this.lastReason,
    });
    this.unlogged = 0;
    this.lastLogMs = Date.now();
  }
}
