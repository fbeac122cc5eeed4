/**
 * `show --follow`: calls as a running recorder stores them. Readers see a recording through a
 * snapshot of db/ (snapshot.ts), so following is reading again every POLL_MS and printing the
 * calls not printed yet. The recorder stores a call when it ends, under its start time: a long
 * call lands behind shorter ones that began later, so each poll re-reads a window of
 * WINDOW_NS before the latest start seen. A call longer than the window that ends after the
 * follow began is missed (watches such as GetContainerEvents can be: `critap show` finds them).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openRecording, type CallFilter } from './reader.js';
import type { StoredCall } from './stored-call.js';

const POLL_MS = 500;
const WINDOW_NS = 10n * 60n * 1_000_000_000n;

/** Prints until `signal` aborts, the limit is reached or print says the reader has gone. */
export async function followCalls(
  dir: string,
  filter: CallFilter,
  print: (call: StoredCall) => Promise<boolean>,
  signal: AbortSignal,
  salvage: boolean,
): Promise<void> {
  const seen = new Map<string, bigint>();
  let latest: bigint | undefined;
  let printed = 0;
  const limit = filter.limit ?? Infinity;
  while (!signal.aborted) {
    const from = latest === undefined ? filter.sinceNs : maxOf(filter.sinceNs, latest - WINDOW_NS);
    const rec = await openRecording(dir, { salvage });
    try {
      const { limit: _l, ...rest } = filter;
      for await (const call of rec.calls({ ...rest, ...(from !== undefined ? { sinceNs: from } : {}) })) {
        if (seen.has(call.key)) continue;
        seen.set(call.key, call.startNs);
        if (latest === undefined || call.startNs > latest) latest = call.startNs;
        if (!(await print(call)) || ++printed >= limit) return;
      }
    } finally {
      await rec.close();
    }
    if (latest !== undefined) for (const [k, ns] of seen) if (ns < latest - WINDOW_NS) seen.delete(k);
    try {
      await sleep(POLL_MS, undefined, { signal });
    } catch {
      return;
    }
  }
}

function maxOf(a: bigint | undefined, b: bigint): bigint {
  return a === undefined || b > a ? b : a;
}
