/**
 * HTTP/2 flow control (RFC 9113 §5.2, §6.9) for replay's server, as plain arithmetic:
 * what may be sent now, what the peer may still send, and when to grant it more.
 */

/** The largest window HTTP/2 allows (2^31 - 1). */
export const MAX_WINDOW = 0x7fffffff;
/** Every window's size until SETTINGS / WINDOW_UPDATE say otherwise. */
export const DEFAULT_WINDOW = 65535;

/** A flow-control violation by the peer; `code` is the HTTP/2 error code to answer with. */
export class FlowError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}
const FLOW_CONTROL_ERROR = 0x3;
const PROTOCOL_ERROR = 0x1;

/**
 * A send window grown by the peer's WINDOW_UPDATE. It may go negative when the peer lowers
 * SETTINGS_INITIAL_WINDOW_SIZE with data in flight (§6.9.2); nothing is sent until it recovers.
 */
export function grownWindow(window: number, increment: number, what: string): number {
  if (increment === 0) throw new FlowError(`critap: WINDOW_UPDATE of 0 on ${what}`, PROTOCOL_ERROR);
  const next = window + increment;
  if (next > MAX_WINDOW) throw new FlowError(`critap: WINDOW_UPDATE takes ${what} past 2^31-1`, FLOW_CONTROL_ERROR);
  return next;
}

/** DATA bytes that may go out now: within both windows and what is waiting. */
export function sendable(streamWindow: number, connectionWindow: number, waiting: number): number {
  return Math.max(0, Math.min(streamWindow, connectionWindow, waiting));
}

/**
 * What the peer may still send us on one stream (or the whole connection), and when to grant
 * more: once half the window is used, WINDOW_UPDATE restores it in one go (fewer frames than
 * answering each DATA frame, and never a stall).
 */
export class ReceiveWindow {
  private available: number;

  constructor(readonly size: number) {
    this.available = size;
  }

  get remaining(): number {
    return this.available;
  }

  /**
   * Counts a received DATA frame (its whole length, padding included). Returns the increment to
   * announce in a WINDOW_UPDATE now, or 0. Throws FlowError when the peer overran the window.
   */
  consume(length: number): number {
    this.available -= length;
    if (this.available < 0) throw new FlowError(`critap: peer sent ${-this.available} bytes beyond its flow-control window`, FLOW_CONTROL_ERROR);
    if (this.available > this.size / 2) return 0;
    const grant = this.size - this.available;
    this.available = this.size;
    return grant;
  }
}
