/**
 * The observer thread: recorder and telemetry run here, on their own event loop, so LevelDB
 * batches, redaction, span building and OTLP export never delay a forwarded byte.
 */
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import { CaptureBudget } from '../proxy/capture-budget.js';
import { createObservers, type Observers } from './observers.js';
import type { ObserverOptions } from './options.js';
import { eachEvent, type PackedBatch } from './transfer.js';

export type ToWorker = { kind: 'batch'; batch: PackedBatch } | { kind: 'stats'; id: number } | { kind: 'close' };
export type FromWorker =
  | { kind: 'ready'; needsBodies: boolean; spoolsBodies: boolean; tracing: boolean; metricsUrl?: string }
  | { kind: 'failed'; message: string }
  | { kind: 'stats'; id: number; stats: import('./options.js').ObserverStats }
  | { kind: 'closed'; stats: import('./options.js').ObserverStats }
  /** Buffers of parts written, moved back for the forwarding thread to fill again (proxy/part-pool.ts). */
  | { kind: 'parts'; buffers: ArrayBuffer[] };

/** What the forwarding thread starts the worker with. */
export interface WorkerData {
  opts: ObserverOptions;
  /**
   * The proxy's capture budget (its shared counter and limit), and the bytes of it the worker
   * holds: bodies are given back to it here, once the observers are done with them.
   */
  budget?: { shared: SharedArrayBuffer; limit: number; held: SharedArrayBuffer };
}

const port = parentPort!;
const data = workerData as WorkerData;
const opts = data.opts;
const logger = createLogger({ level: opts.logLevel ?? 'info', json: opts.logJson ?? false });
const send = (m: FromWorker) => port.postMessage(m);
/** This thread's OS id ('/proc/thread-self' → '<pid>/task/<tid>' on Linux), so the benchmark can read its CPU apart. */
const osThreadId = (() => {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop()) || undefined;
  } catch {
    return undefined;
  }
})();

let release: ((bytes: number) => void) | undefined;
if (data.budget) {
  const budget = new CaptureBudget(data.budget.limit, data.budget.shared);
  const held = new BigInt64Array(data.budget.held);
  // Given back once per turn of this thread's work (a LevelDB batch written ends many calls at
  // once), not per call: each give is two atomic writes, with BigInts, to counters the forwarding
  // thread reads. Bytes wait at most until the microtask queue drains.
  let releasing = 0;
  const settle = () => {
    const bytes = releasing;
    releasing = 0;
    Atomics.sub(held, 0, BigInt(bytes));
    budget.give(bytes);
  };
  release = (bytes) => {
    if (bytes <= 0) return;
    if (releasing === 0) queueMicrotask(settle);
    releasing += bytes;
  };
}

let observers: Observers;
try {
  observers = await createObservers(opts, logger, release, true);
} catch (err) {
  send({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(0);
}
let sinkErrors = 0;
const onSinkError = (err: unknown) => {
  if (sinkErrors++ % 1000 === 0) logger.error('an observer failed (forwarding continues)', { error: (err as Error).message, total: sinkErrors });
};
port.on('message', (msg: ToWorker) => {
  if (msg.kind === 'batch') {
    // Parts that came moved (each in its own buffer, not in the batch's shared one) go back once written.
    const shared = msg.batch.buffers[0];
    const written: ArrayBuffer[] = [];
    eachEvent(msg.batch, (e) => {
      if ('end' in e) {
        observers.onCallEnd(e.end, onSinkError);
        return;
      }
      if ('part' in e || 'abort' in e) {
        try {
          if ('part' in e) observers.onBodyPart(e.part.id, e.part.data);
          else observers.onBodyAbort(e.abort);
        } catch (err) {
          onSinkError(err);
        }
        if ('part' in e && data.budget && e.part.data.buffer !== shared) written.push(e.part.data.buffer as ArrayBuffer);
        return;
      }
      for (const sink of observers.sinks) {
        try {
          sink.onCallStart?.(e.start);
        } catch (err) {
          onSinkError(err);
        }
      }
    });
    if (written.length > 0) port.postMessage({ kind: 'parts', buffers: written } satisfies FromWorker, written);
  } else if (msg.kind === 'stats') {
    send({ kind: 'stats', id: msg.id, stats: { ...observers.stats(), observerTid: osThreadId } });
  } else if (msg.kind === 'close') {
    observers.close().then(
      () => send({ kind: 'closed', stats: observers.stats() }),
      (err: unknown) => {
        logger.error('closing observers failed', { error: (err as Error).message });
        send({ kind: 'closed', stats: observers.stats() });
      },
    );
  }
});
const ready: FromWorker = {
  kind: 'ready',
  needsBodies: observers.sinks.some((s) => s.needsBodies),
  spoolsBodies: observers.spoolsBodies,
  tracing: observers.tracing,
};
if (observers.metricsUrl) ready.metricsUrl = observers.metricsUrl;
send(ready);
