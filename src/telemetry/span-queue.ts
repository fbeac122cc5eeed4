/**
 * The bounded batch queue between finished spans and the collector. It replaces the SDK's
 * BatchSpanProcessor on the live path (and the two counting wrappers critap had around it),
 * keeping what users set and rely on:
 *
 * - OTEL_BSP_MAX_QUEUE_SIZE (2048), OTEL_BSP_MAX_EXPORT_BATCH_SIZE (512),
 *   OTEL_BSP_SCHEDULE_DELAY (5000 ms) and OTEL_BSP_EXPORT_TIMEOUT (30000 ms), or the same
 *   settings given as SpanQueueOptions;
 * - adding a span never blocks and never throws: a full queue drops the span and counts it;
 * - a batch goes when the queue holds a full batch, or when the oldest span has waited the
 *   schedule delay; one export is in flight at a time;
 * - every span lost is counted once, with its reason: queue full, export failed (or not answered
 *   within the export timeout), or still queued or in flight when close() gives up.
 *
 * It holds spans as encoded bytes (otlp-span-encoder.ts), which is also what the SDK's
 * processor could not do: its queue holds span objects. Each batch is one buffer the spans are
 * copied into as they come (span-batch.ts), reused once its export has answered.
 */
import { cleanGrpcText } from '../grpc-text.js';
import type { DropCounter } from './drop-counter.js';
import { SpanBatch } from './span-batch.js';

/** Batch settings; each falls back to OTEL_BSP_* and then to the SDK's defaults (queue 2048, batch 512, 5 s, 30 s). */
export interface SpanQueueOptions {
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  scheduledDelayMillis?: number;
  exportTimeoutMillis?: number;
}

/**
 * Sends one batch; calls `done` once, with an error when the batch was not delivered. The batch
 * is the sender's until then: the queue reuses it after `done`.
 */
export type SendBatch = (batch: SpanBatch, done: (error?: Error) => void) => void;

/** Spent batches kept for reuse: one in flight and one filling is the steady state. */
const SPARE_BATCHES = 2;

export const QUEUE_FULL = 'span queue full (collector slow or unreachable)';
export const SHUTDOWN_LOST = 'collector did not answer before shutdown';

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  const v = Number(raw);
  return raw?.trim() && Number.isFinite(v) && v > 0 ? v : undefined;
}

/** The settings in force: options, else OTEL_BSP_*, else the SDK's defaults. */
export function queueSettings(opts: SpanQueueOptions = {}, env: NodeJS.ProcessEnv = process.env): Required<SpanQueueOptions> {
  const maxQueueSize = opts.maxQueueSize ?? envNumber(env, 'OTEL_BSP_MAX_QUEUE_SIZE') ?? 2048;
  const batch = opts.maxExportBatchSize ?? envNumber(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE') ?? 512;
  return {
    maxQueueSize,
    // As the SDK does: a batch larger than the queue could never fill.
    maxExportBatchSize: Math.min(batch, maxQueueSize),
    scheduledDelayMillis: opts.scheduledDelayMillis ?? envNumber(env, 'OTEL_BSP_SCHEDULE_DELAY') ?? 5000,
    exportTimeoutMillis: opts.exportTimeoutMillis ?? envNumber(env, 'OTEL_BSP_EXPORT_TIMEOUT') ?? 30_000,
  };
}

export class SpanQueue {
  readonly settings: Required<SpanQueueOptions>;
  /** Batches waiting, oldest first; only the last may be short of a full batch (it is filling). */
  private batches: SpanBatch[] = [];
  /** Spans in `batches`. */
  private waiting = 0;
  private readonly spare: SpanBatch[] = [];
  /** Spans in the export that has not answered yet (0: none in flight; a batch is never empty). */
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  /** After close() has given up, late answers are not counted again. */
  private abandoned = false;
  private closed = false;
  /** Wakes close() when an export settles. */
  private onSettled: (() => void) | undefined;

  constructor(
    private readonly send: SendBatch,
    private readonly drops: DropCounter,
    opts?: SpanQueueOptions,
    env?: NodeJS.ProcessEnv,
  ) {
    this.settings = queueSettings(opts, env);
  }

  /** Spans waiting (not yet handed to the collector). */
  get queued(): number {
    return this.waiting;
  }

  /** Queues one encoded span (the first `length` bytes of `span`, copied); never blocks or throws. */
  add(span: Uint8Array, length = span.length): void {
    if (this.closed) return;
    if (this.waiting >= this.settings.maxQueueSize) {
      this.drops.add(1, QUEUE_FULL);
      return;
    }
    this.filling().add(span, length);
    this.waiting++;
    if (this.waiting >= this.settings.maxExportBatchSize) this.exportNext();
    else if (!this.timer && this.inFlight === 0) this.startTimer();
  }

  /** The batch new spans go into: the last one, unless it is full. */
  private filling(): SpanBatch {
    const last = this.batches[this.batches.length - 1];
    if (last && last.count < this.settings.maxExportBatchSize) return last;
    const batch = this.spare.pop() ?? new SpanBatch();
    this.batches.push(batch);
    return batch;
  }

  private startTimer(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.exportNext();
    }, this.settings.scheduledDelayMillis);
    // A timer alone must not keep the process alive (close() flushes what is left).
    this.timer.unref();
  }

  /** Hands the next batch to the collector, unless one is already in flight. */
  private exportNext(): void {
    if (this.inFlight > 0 || this.waiting === 0) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.batches.shift()!;
    const spans = batch.count;
    this.waiting -= spans;
    this.inFlight = spans;
    let settled = false;
    const settle = (error?: Error, answered = true) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      this.inFlight = 0;
      if (error && !this.abandoned) this.drops.add(spans, `export failed: ${cleanGrpcText(error.message || 'unknown error')}`);
      // Reused only once the sender is done with it: not after a timeout, when it may still hold it.
      if (answered && this.spare.length < SPARE_BATCHES) {
        batch.clear();
        this.spare.push(batch);
      }
      this.onSettled?.();
      // What piled up meanwhile: a full batch goes at once, a partial one after the delay.
      if (this.closed) return;
      if (this.waiting >= this.settings.maxExportBatchSize) this.exportNext();
      else if (this.waiting > 0 && !this.timer) this.startTimer();
    };
    // One export waited for at a time, but not forever: a collector that never answers would
    // otherwise stop every later batch.
    const timeout = setTimeout(() => settle(new Error(`no answer within ${this.settings.exportTimeoutMillis} ms`), false), this.settings.exportTimeoutMillis);
    timeout.unref();
    try {
      this.send(batch, (error) => settle(error));
    } catch (err) {
      settle(err as Error, false);
    }
  }

  /**
   * Sends everything queued, one batch after another, and stops taking spans. Waits at most
   * `timeoutMs`; what is then still queued or in flight is counted as lost. Never rejects.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.inFlight === 0) {
        if (this.waiting === 0) return;
        this.exportNext();
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0 || !(await this.settledWithin(left))) break;
    }
    this.abandoned = true;
    this.drops.add(this.waiting + this.inFlight, SHUTDOWN_LOST);
    this.batches = [];
    this.waiting = 0;
  }

  /** Waits for the export in flight to settle; false when `ms` passed first. */
  private settledWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onSettled = undefined;
        resolve(false);
      }, ms);
      this.onSettled = () => {
        clearTimeout(timer);
        this.onSettled = undefined;
        resolve(true);
      };
    });
  }
}
