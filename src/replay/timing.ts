/**
 * `--timing`: how fast replay answers. `none` answers at once; `recorded` waits as long as the
 * runtime took (each stream message at its recorded offset from the call's start, the status at
 * the call's recorded duration); `<factor>x` scales those waits (`0.5x` twice as fast, `2x`
 * twice as slow).
 */

/** Multiplier for recorded waits; undefined means no waiting. */
export type Timing = number | undefined;

export class TimingError extends Error {
  /** A mistake in what the user typed: the CLI prints it as a usage error (exit code 2). */
  readonly usage = true;
}

export function parseTiming(text: string): Timing {
  const t = text.trim().toLowerCase();
  if (t === 'none') return undefined;
  if (t === 'recorded') return 1;
  const m = /^(\d+(?:\.\d+)?|\.\d+)x$/.exec(t);
  if (m) {
    const f = Number(m[1]);
    if (f > 0 && f <= 1000) return f;
  }
  throw new TimingError(`critap: --timing wants none, recorded or a factor like 0.5x or 2x, got "${text}"`);
}

/** When (ms after the call started) something recorded `offsetNs` into the call happens. */
export function scaledMs(offsetNs: number, timing: Timing): number {
  return timing === undefined ? 0 : (offsetNs / 1e6) * timing;
}

/**
 * Resolves at `startMs + atMs` (performance.now() clock), or at once when that has passed or
 * the signal is aborted. Never rejects: the caller checks the signal.
 */
export function waitUntil(startMs: number, atMs: number, signal?: AbortSignal): Promise<void> {
  const delay = startMs + atMs - performance.now();
  if (delay <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, delay);
    signal?.addEventListener('abort', done, { once: true });
  });
}
