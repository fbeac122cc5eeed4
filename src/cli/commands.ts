import type { Command } from './main.js';

/**
 * Every command: its one-line summary for the top-level help, and how to load it. The summaries
 * live here, not in the command modules, so `critap --help` prints them without loading any command
 * (proxy and replay pull in gRPC and OpenTelemetry, which cost most of a second to load).
 */
export interface CommandEntry {
  summary: string;
  load(): Promise<{ command: Command }>;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  proxy: { summary: 'forward CRI calls to the runtime, recording and tracing them', load: () => import('./proxy.js') },
  version: { summary: 'print critap, Node.js and CRI API versions', load: () => import('./version.js') },
  ls: { summary: 'list recordings under a folder: calls, size, time span, methods', load: () => import('./ls.js') },
  show: { summary: 'print the calls of a recording: one line each, --verbose decoded, --json, --follow', load: () => import('./show.js') },
  stats: { summary: 'per-method calls, errors, latency percentiles and bytes of a recording', load: () => import('./stats.js') },
  report: { summary: 'write a self-contained HTML report of a recording (tables, pod timeline, sequence, PLEG)', load: () => import('./report.js') },
  diff: { summary: 'compare two recordings of the same workload: answers field by field, latency side by side', load: () => import('./diff.js') },
  export: { summary: 'write a recording out as JSONL (one call per line, bytes exact) or send it as OTLP spans', load: () => import('./export.js') },
  import: { summary: 'load a JSONL export into a recording (new, empty or existing folder)', load: () => import('./import.js') },
  replay: { summary: 'serve a recording as a mock CRI runtime', load: () => import('./replay.js') },
  call: { summary: 'send one CRI call and print the answer as JSON (a small grpcurl for the CRI)', load: () => import('./call.js') },
  fault: { summary: 'change the fault rules of a running proxy or replay (--admin)', load: () => import('./fault.js') },
};
