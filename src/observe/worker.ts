/**
 * The observer thread: recorder and telemetry run here, on their own event loop, so LevelDB
 * batches, redaction, span building and OTLP export never delay a forwarded byte.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../log.js';
import { createObservers, type Observers } from './observers.js';
import type { ObserverOptions } from './options.js';
import { unpackBatch, type PackedBatch } from './transfer.js';

export type ToWorker = { kind: 'batch'; batch: PackedBatch } | { kind: 'stats'; id: number } | { kind: 'close' };
export type FromWorker =
  | { kind: 'ready'; needsBodies: boolean; tracing: boolean; metricsUrl?: string }
  | { kind: 'failed'; message: string }
  | { kind: 'stats'; id: number; stats: import('./options.js').ObserverStats }
  | { kind: 'closed'; stats: import('./options.js').ObserverStats };

const port = parentPort!;
const opts = workerData as ObserverOptions;
const logger = createLogger({ level: opts.logLevel ?? 'info', json: opts.logJson ?? false });
const send = (m: FromWorker) => port.postMessage(m);

let observers: Observers;
try {
  observers = await createObservers(opts, logger);
} catch (err) {
  send({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(0);
}
let sinkErrors = 0;
port.on('message', (msg: ToWorker) => {
  if (msg.kind === 'batch') {
    for (const e of unpackBatch(msg.batch)) {
      for (const sink of observers.sinks) {
        try {
          if ('start' in e) sink.onCallStart?.(e.start);
          else sink.onCallEnd(e.end);
        } catch (err) {
          if (sinkErrors++ % 1000 === 0) logger.error('an observer failed (forwarding continues)', { error: (err as Error).message, total: sinkErrors });
        }
      }
    }
  } else if (msg.kind === 'stats') {
    send({ kind: 'stats', id: msg.id, stats: observers.stats() });
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
const ready: FromWorker = { kind: 'ready', needsBodies: observers.sinks.some((s) => s.needsBodies), tracing: observers.tracing };
if (observers.metricsUrl) ready.metricsUrl = observers.metricsUrl;
send(ready);
