/**
 * The forwarding side of the observer thread: a CallSink whose only work on the forwarding path
 * is to append the call to a batch. Every few milliseconds the batch is packed and transferred
 * to the worker (observe/worker.ts), where the recorder and telemetry run.
 *
 * Why a thread: on a 2-core node the recorder's LevelDB batches and the OTLP exporter cost more
 * CPU per call than forwarding itself; on the proxy's event loop they delayed the next call's
 * bytes. On their own thread they overlap with the waits every CRI call has anyway.
 */
import { Worker } from 'node:worker_threads';
import type { CallRecord, CallSink, CallStart } from '../call.js';
import { silentLogger, type Logger } from '../log.js';
import type { ObserverOptions, ObserverStats } from './options.js';
import { packBatch, type ObservedEvent } from './transfer.js';
import type { FromWorker, ToWorker } from './worker.js';

/** A call reaches the recorder at most this much later (the SIGKILL guarantee allows 250 ms in all). */
const FLUSH_MS = 5;
const MAX_BATCH = 512;
const CLOSE_TIMEOUT_MS = 60_000;

export interface ObserverThread extends CallSink {
  readonly tracing: boolean;
  readonly metricsUrl?: string;
  stats(): Promise<ObserverStats>;
  close(): Promise<void>;
}

export async function startObserverThread(opts: ObserverOptions, logger: Logger = silentLogger): Promise<ObserverThread> {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: opts });
  const ready = await new Promise<Extract<FromWorker, { kind: 'ready' }>>((resolve, reject) => {
    const onMessage = (m: FromWorker) => {
      if (m.kind === 'ready') resolve(m);
      else if (m.kind === 'failed') reject(new Error(m.message));
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`critap: the observer thread exited (${code}) before starting`)));
  });
  worker.removeAllListeners('error');
  worker.removeAllListeners('exit');

  let pending: ObservedEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let dead = false;
  let closing = false;
  let handoffDropped = 0;
  let nextId = 0;
  const waiting = new Map<number, (s: ObserverStats) => void>();
  let closed: (() => void) | undefined;
  /** What the observers reported as they closed: stats() answers with it afterwards. */
  let finalStats: ObserverStats | undefined;
  let closeOnce: Promise<void> | undefined;

  worker.on('message', (m: FromWorker) => {
    if (m.kind === 'stats') {
      waiting.get(m.id)?.(m.stats);
      waiting.delete(m.id);
    } else if (m.kind === 'closed') {
      finalStats = m.stats;
      closed?.();
    }
  });
  worker.on('error', (err) => logger.error('the observer thread failed; calls are still forwarded but no longer recorded or traced', { error: err.message }));
  worker.on('exit', () => {
    dead = true;
    for (const resolve of waiting.values()) resolve({ handoffDropped });
    waiting.clear();
    closed?.();
  });
  worker.unref();

  const post = (m: ToWorker, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer);
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const events = pending;
    pending = [];
    if (dead) {
      handoffDropped += events.filter((e) => 'end' in e).length;
      return;
    }
    const batch = packBatch(events);
    post({ kind: 'batch', batch }, [batch.bodies]);
  };
  const push = (e: ObservedEvent) => {
    if (closing) {
      // Calls that end after close() began (the grace period is over) are not observed; count them.
      if ('end' in e) handoffDropped++;
      return;
    }
    pending.push(e);
    if (pending.length >= MAX_BATCH) flush();
    else timer ??= setTimeout(flush, FLUSH_MS);
  };

  const thread: ObserverThread = {
    needsBodies: ready.needsBodies,
    tracing: ready.tracing,
    onCallStart: (call: CallStart) => push({ start: call }),
    onCallEnd: (call: CallRecord) => push({ end: call }),
    stats() {
      if (finalStats) return Promise.resolve({ ...finalStats, handoffDropped });
      if (dead) return Promise.resolve({ handoffDropped });
      const id = nextId++;
      return new Promise((resolve) => {
        waiting.set(id, (s) => resolve({ ...s, handoffDropped }));
        post({ kind: 'stats', id });
      });
    },
    close() {
      closeOnce ??= (async () => {
        flush();
        if (dead) return;
        closing = true;
        // Unref'd while running; now the process must stay up until the observers have flushed.
        worker.ref();
        await new Promise<void>((resolve) => {
          closed = resolve;
          post({ kind: 'close' });
          setTimeout(resolve, CLOSE_TIMEOUT_MS).unref();
        });
        await worker.terminate();
      })();
      return closeOnce;
    },
  };
  if (ready.metricsUrl) (thread as { metricsUrl?: string }).metricsUrl = ready.metricsUrl;
  return thread;
}
