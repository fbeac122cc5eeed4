/**
 * Child process: critap's proxy with one benchmark variant's observers, in a process of its own
 * so its CPU and memory are measured apart from the client's. It is what `critap proxy` runs
 * (startProxy plus sinks), minus flag parsing; recording and telemetry load lazily like in the CLI,
 * so the bare variant does not carry the OpenTelemetry SDK in its memory.
 */
import type { CallSink } from '../src/call.js';
import { startProxy } from '../src/proxy/proxy.js';
import { childArgs, failChild, onParentMessage, tell } from './children.js';

export interface CritapArgs {
  listen: string;
  upstream: string;
  /** Record into this (new) folder. */
  recordDir?: string;
  /** Export spans to this OTLP/gRPC collector. */
  otlpEndpoint?: string;
}

async function main(): Promise<void> {
  const args = childArgs<CritapArgs>();
  const sinks: CallSink[] = [];
  let recorderStats: (() => { recorded: number; dropped: number }) | undefined;
  let spansDropped: (() => number) | undefined;
  if (args.recordDir) {
    const { openRecorder } = await import('../src/record/index.js');
    const recorder = await openRecorder({ dir: args.recordDir });
    recorderStats = () => recorder.stats();
    sinks.push(recorder);
  }
  if (args.otlpEndpoint) {
    const { createTelemetry } = await import('../src/telemetry/telemetry.js');
    const telemetry = await createTelemetry({ upstream: args.upstream, otlpEndpoint: args.otlpEndpoint, tracing: true });
    spansDropped = () => telemetry.spansDropped;
    sinks.push(telemetry);
  }
  const proxy = await startProxy({ listen: args.listen, upstream: args.upstream, sinks });
  onParentMessage(async (msg) => {
    if (msg.type !== 'stop') return;
    // close() waits for open calls, then flushes the recording and the span queue.
    await proxy.close(5000);
    tell({
      type: 'stopped',
      recorded: recorderStats?.().recorded,
      recordDropped: recorderStats?.().dropped,
      spansDropped: spansDropped?.(),
      maxRssIncludingFlush: process.resourceUsage().maxRSS * 1024,
    });
    // Give IPC a moment to deliver before exiting (--cpu-prof writes its profile on exit).
    setTimeout(() => process.exit(0), 20);
  });
  tell({ type: 'ready', endpoint: proxy.endpoint });
}

main().catch(failChild);
