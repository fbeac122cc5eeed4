/**
 * The forwarding side of the observer thread: a CallSink whose only work on the forwarding path
 * is to pack the call into a batch (numbers, strings, bodies: observe/transfer.ts). Every few
 * milliseconds the batch is transferred to the worker (observe/worker.ts), where the recorder
 * and telemetry run.
 *
 * Why a thread: on a 2-core node the recorder's LevelDB batches and the OTLP exporter cost more
 * CPU per call than forwarding itself; on the proxy's event loop they delayed the next call's
 * bytes. On their own thread they overlap with the waits every CRI call has anyway.
 */
import { Worker } from 'node:worker_threads';
import { bodyBytes, type CallRecord, type CallSink, type CallStart } from '../call.js';
import { silentLogger, type Logger } from '../log.js';
import { SPOOL_PART_BYTES, type CaptureBudget } from '../proxy/capture-budget.js';
import { PartPool } from '../proxy/part-pool.js';
import type { ObserverOptions, ObserverStats } from './options.js';
import { BatchPacker, FIRST_BODY_BYTES, FIRST_NUMBERS } from './transfer.js';
import type { FromWorker, ToWorker, WorkerData } from './worker.js';

/**
 * A call reaches the recorder at most this much later (the SIGKILL guarantee allows 250 ms in all,
 * and the recorder's own tick is 50 ms). Each hand-off costs about 17 µs of the forwarding
 * thread's CPU whatever it carries, so at a kubelet's rates of tens of calls a second nearly every
 * call paid it alone with 5 ms; 20 ms lets a busy node's calls share it.
 */
const FLUSH_MS = 20;
const MAX_BATCH = 512;
/**
 * Body bytes that send a batch at once rather than at the next tick: bodies (and parts of large
 * bodies) hold the capture budget until the worker has written them, so they should not wait.
 */
const FLUSH_BYTES = 1024 * 1024;
const CLOSE_TIMEOUT_MS = 60_000;
/**
 * The observer thread's V8 young generation, at most (V8's own default is 48 MiB). The thread
 * holds each call only until it is recorded and its span written, but under load some of that
 * outlives a small young generation's scavenges and is copied and promoted for nothing. It was
 * 4 MiB when bodies crossed whole and peak RSS in the 64 × 8 MiB benchmark was the tight figure
 * (145 vs 157 MB at 16); with bodies spooled and moved that peak is 115 vs 119 MB, idle RSS is the
 * same (78.8 MB both, after paced calls), and 16 MiB costs the thread less: with recording and
 * tracing, 16.8 → 13.0 µs per call on the observer thread, 35.3 → 30.3 in all (observe-cpu, side
 * by side, 5 rounds, on a loaded machine).
 */
const YOUNG_GENERATION_MB = 16;

export interface ObserverThread extends CallSink {
  readonly tracing: boolean;
  readonly metricsUrl?: string;
  stats(): Promise<ObserverStats>;
  close(): Promise<void>;
}

/**
 * @param budget the proxy's capture budget. With it, the thread is the proxy's only sink
 *   (CallSink.releasesBudget): bodies stay counted in the budget until the observers are done
 *   with them (the recorder: until written), and large bodies are moved to the thread, not copied.
 */
export async function startObserverThread(opts: ObserverOptions, logger: Logger = silentLogger, budget?: CaptureBudget): Promise<ObserverThread> {
  if (opts.record) {
    // LevelDB's background thread outlives the database and the worker. When the worker that
    // loaded the addon stops, Node unloads the addon's code unless another thread still holds it;
    // that thread, returning from its last compaction, then ran unmapped code (SIGSEGV when the
    // proxy stopped, seen in the benchmark). Loading it here keeps it loaded for the process's life.
    await import('level');
  }
  // Bytes of the budget handed to the worker and not yet given back by it.
  const held = budget ? new BigInt64Array(new SharedArrayBuffer(8)) : undefined;
  const workerData: WorkerData = { opts };
  if (budget && held) workerData.budget = { shared: budget.shared, limit: budget.limit, held: held.buffer as SharedArrayBuffer };
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
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

  // Part buffers come back from the worker once written, to be filled again (see part-pool.ts).
  const pool = budget && ready.spoolsBodies ? new PartPool(SPOOL_PART_BYTES, Math.ceil(budget.limit / SPOOL_PART_BYTES)) : undefined;
  /** The batch being filled: each event is packed as it comes (see BatchPacker). Made at its first event. */
  const move = budget !== undefined;
  let pending: BatchPacker | undefined;
  /**
   * Room a new batch starts with: a little more than the last one took. A busy proxy's batches
   * are alike, and a packer started small doubled its numbers twice per batch (allocated, zeroed
   * and copied each time) and its bodies once.
   */
  let room = { numbers: FIRST_NUMBERS, bodyBytes: FIRST_BODY_BYTES };
  const filling = (): BatchPacker => (pending ??= new BatchPacker({ move }, room.numbers, room.bodyBytes));
  /** Events in `pending`. */
  let pendingEvents = 0;
  /** Body bytes of the calls in `pending` (counted before packing moves them away). */
  let pendingBytes = 0;
  const giveBack = (bytes: number) => {
    if (budget && bytes > 0) budget.give(bytes);
  };
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
    } else if (m.kind === 'parts') {
      if (pool) for (const ab of m.buffers) pool.give(ab);
    } else if (m.kind === 'closed') {
      finalStats = m.stats;
      closed?.();
    }
  });
  worker.on('error', (err) => logger.error('the observer thread failed; calls are still forwarded but no longer recorded or traced', { error: err.message }));
  worker.on('exit', () => {
    dead = true;
    pool?.close();
    // Bodies the worker held die with it: their bytes go back to the budget.
    if (budget && held) giveBack(Number(Atomics.exchange(held, 0, 0n)));
    for (const resolve of waiting.values()) resolve({ handoffDropped });
    waiting.clear();
    closed?.();
  });
  worker.unref();

  const post = (m: ToWorker, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer);
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending === undefined || pendingEvents === 0) return;
    const packer = pending;
    const used = packer.used;
    room = { numbers: Math.max(FIRST_NUMBERS, Math.ceil(used.numbers * 1.25)), bodyBytes: Math.max(FIRST_BODY_BYTES, Math.ceil(used.bodyBytes * 1.25)) };
    const bytes = pendingBytes;
    pending = undefined;
    pendingEvents = 0;
    pendingBytes = 0;
    if (dead) {
      handoffDropped += packer.ends;
      giveBack(bytes);
      return;
    }
    if (held) Atomics.add(held, 0, BigInt(bytes));
    const batch = packer.finish();
    // The numbers go too (moved, not cloned): a structured clone copies a busy batch's
    // Float64Array through the serializer, a few times the cost of the transfer.
    post({ kind: 'batch', batch }, [...batch.buffers, batch.numbers.buffer as ArrayBuffer]);
  };
  /** Whether an event of `bytes` body bytes goes into the batch (not once close() began). */
  const admit = (bytes: number, isEnd: boolean): boolean => {
    if (!closing) return true;
    // Calls that end after close() began (the grace period is over) are not observed; count them.
    if (isEnd) handoffDropped++;
    giveBack(bytes);
    return false;
  };
  /** After an event went into the batch: send it now when full, else by the next tick. */
  const added = (bytes: number) => {
    pendingBytes += bytes;
    pendingEvents++;
    if (pendingEvents >= MAX_BATCH || pendingBytes >= FLUSH_BYTES) flush();
    else timer ??= setTimeout(flush, FLUSH_MS);
  };
  // Sole sink (releasesBudget): nothing else holds the bodies, so large ones can be moved (`move`).
  const onCallEnd = (call: CallRecord) => {
    const bytes = budget ? bodyBytes(call) : 0;
    if (!admit(bytes, true)) return;
    filling().end(call);
    added(bytes);
  };
  const onBodyPart = (id: number, data: Buffer) => {
    const bytes = budget ? data.length : 0;
    if (!admit(bytes, false)) return;
    filling().part(id, data);
    added(bytes);
  };
  /**
   * The observers use a call's start for one thing: the in-flight gauge (telemetry.ts onCallStart),
   * which exists only when metrics are read (--metrics-listen, --otlp-metrics; see
   * metrics-pipeline.ts metricsWanted). Without them this sink takes no starts: the tap builds no
   * CallStart, and neither thread packs or unpacks one per call.
   */
  const countsStarts = opts.metricsListen !== undefined || Boolean(opts.otlpMetrics);
  const onCallStart = (call: CallStart) => {
    if (!admit(0, false)) return;
    filling().start(call);
    added(0);
  };
  const onBodyAbort = (id: number) => {
    if (!admit(0, false)) return;
    filling().abort(id);
    added(0);
  };

  const thread: ObserverThread = {
    needsBodies: ready.needsBodies,
    releasesBudget: budget !== undefined,
    tracing: ready.tracing,
    spoolsBodies: ready.spoolsBodies === true,
    onBodyPart,
    onBodyAbort,
    ...(pool && { newPart: (bytes: number) => pool.take(bytes) }),
    ...(countsStarts && { onCallStart }),
    onCallEnd,
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
