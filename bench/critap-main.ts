/**
 * Child process: critap's proxy with one benchmark variant's observers, in a process of its own
 * so its CPU and memory are measured apart from the client's. It starts the proxy exactly as
 * `critap proxy` does (startObservedProxy: observers on their own thread, loaded lazily), minus
 * flag parsing.
 */
import { startObservedProxy } from '../src/proxy/observed-proxy.js';
import { childArgs, failChild, onParentMessage, tell } from './children.js';

export interface CritapArgs {
  listen: string;
  upstream: string;
  /** Record into this (new) folder. */
  recordDir?: string;
  /** Export spans to this OTLP/gRPC collector. */
  otlpEndpoint?: string;
  /** --propagate-trace. */
  propagateTrace?: boolean;
}

/**
 * The span queue the benchmark gives critap, unless OTEL_BSP_MAX_QUEUE_SIZE says otherwise. With
 * the SDK's default (2 048) a saturated round dropped 12-29% of its spans: one export of 512 is
 * in flight at a time, and on 2 busy cores the collector answers too late. A dropped span is
 * encoded but never sent, so the CPU per call would leave part of exporting out; with this
 * queue every span of a round is exported (about 450 bytes a Version span: 15 MB at most).
 */
const BENCH_SPAN_QUEUE = '32768';

async function main(): Promise<void> {
  const args = childArgs<CritapArgs>();
  // Before the observer thread starts: a worker gets a copy of process.env when it is made.
  process.env.OTEL_BSP_MAX_QUEUE_SIZE ??= BENCH_SPAN_QUEUE;
  const proxy = await startObservedProxy({
    listen: args.listen,
    upstream: args.upstream,
    record: args.recordDir,
    otlpEndpoint: args.otlpEndpoint,
    tracing: args.otlpEndpoint !== undefined,
    propagateTrace: args.propagateTrace,
  });
  onParentMessage(async (msg) => {
    if (msg.type !== 'stop') return;
    // close() waits for open calls, then flushes the recording and the span queue.
    await proxy.close(5000);
    const stats = await proxy.observerStats();
    tell({
      type: 'stopped',
      recorded: stats.recorded,
      recordDropped: stats.recordDropped,
      spansDropped: stats.spansDropped,
      bodiesNotCaptured: proxy.stats().bodiesNotCaptured,
      maxRssIncludingFlush: process.resourceUsage().maxRSS * 1024,
    });
    // Give IPC a moment to deliver before exiting (--cpu-prof writes its profile on exit).
    setTimeout(() => process.exit(0), 20);
  });
  // Asked once at start: which OS thread the observers run on, for per-thread CPU (bench/cpu.ts).
  const observerTid = (await proxy.observerStats()).observerTid;
  tell({ type: 'ready', endpoint: proxy.endpoint, observerTid });
}

main().catch(failChild);
