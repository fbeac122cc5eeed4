import { createWriteStream } from 'node:fs';
import type { Command } from './main.js';
import { parseCommandArgs, UsageError } from './args.js';
import { FILTER_FLAGS, FILTER_HELP, filterFromFlags, noMatchNote } from '../record/cli-filter.js';
import { JsonlLines } from '../record/jsonl.js';
import { LineOutput } from '../record/output.js';
import { Progress } from '../record/progress.js';
import { SALVAGE_FLAG, SALVAGE_HELP, openForCommand } from './open-recording.js';
import { type CallFilter, type RecordingReader } from '../record/reader.js';
import type { StoredCall } from '../record/stored-call.js';

/** One entry per --format; each writes the selected calls and returns how many it wrote. */
type Exporter = (rec: RecordingReader, filter: CallFilter, out: LineOutput, progress: Progress) => Promise<number>;

const exporters: Record<string, Exporter> = {
  async jsonl(rec, filter, out, progress) {
    let n = 0;
    const lines = new JsonlLines();
    for await (const call of rec.calls(filter)) {
      if (!(await out.write(lines.line(call)))) break;
      progress.update(++n);
    }
    return n;
  },
};

/** Flags that only mean something for --format otlp (spans go to a collector, not to a file). */
const OTLP_ONLY = ['otlp-endpoint', 'service-name', 'upstream', 'traces', 'host-name'] as const;

const SHAPES = ['pod-life', 'call'] as const;

/**
 * --format otlp: the selected calls as spans with their recorded start times and durations.
 * The telemetry module loads only here, so a JSONL export never pays for the OTel SDK.
 */
async function exportOtlp(
  rec: RecordingReader,
  filter: CallFilter,
  opts: { endpoint: string; serviceName?: string; upstream?: string; shape: 'pod-life' | 'call'; hostName: string | null },
  progress: Progress,
): Promise<{ spans: number; lives?: { podLives: number; clientWindows: number } }> {
  const { exportRecordingOtlp } = await import('../telemetry/export-recording.js');
  let seen = 0;
  // The reader applies the filter (its indexes make --pod/--container cheap); the count feeds the progress line.
  const selected = {
    async *calls(): AsyncIterable<StoredCall> {
      for await (const call of rec.calls(filter)) {
        progress.update(++seen);
        yield call;
      }
    },
  };
  return exportRecordingOtlp(selected, opts);
}

export const command: Command = {
  help: `Usage: critap export <recording> [--format jsonl] [--out FILE] [flags]
       critap export <recording> --format otlp --otlp-endpoint URL [--traces pod-life|call] [flags]

Writes the calls in start order. jsonl: one JSON object per line with every message
body and status detail as base64 (exact; 'critap import' rebuilds the same calls), plus
a "view" object with the decoded request/response for people and for jq.

otlp: each call becomes a span sent over OTLP/gRPC, with the call's recorded start time and
duration (the same durations 'critap stats' reports) and the attributes and pod links the
live proxy gives its spans, so a recording made anywhere can be studied in Jaeger or Tempo
later. By default (--traces pod-life) each pod life is one trace: a root span "pod ns/name"
from its first call (RunPodSandbox) to its last (RemovePodSandbox), every call on the pod
and its containers a child; calls of no pod are grouped per client in 60 s windows ("calls
of kubelet"); a call that carried the kubelet's traceparent links to the kubelet's span.
--traces call sends each call as the live proxy does, a child of the kubelet's span.
host.name is the node the recording was made on (from its manifest; --host-name for
recordings that predate that, else left out). Says on stderr how many spans it sent.
Nothing is sampled or dropped: a collector that refuses a batch fails the export (exit 1).

Flags:
  --format F        ${[...Object.keys(exporters), 'otlp'].join(', ')} (default jsonl)
  --out FILE        jsonl: write to FILE instead of stdout
  --otlp-endpoint URL
                    otlp: the collector's OTLP/gRPC address, e.g. http://127.0.0.1:4317
  --service-name NAME
                    otlp: service.name of the spans (default $OTEL_SERVICE_NAME, else critap)
  --upstream EP     otlp: the runtime the recording was made against, for server.address,
                    e.g. unix:///run/containerd/containerd.sock
  --traces SHAPE    otlp: pod-life (default) or call
  --host-name NAME  otlp: host.name of the resource, when the recording does not say it
${FILTER_HELP}
${SALVAGE_HELP}

Examples:
  critap export ./rec --format jsonl --out rec.jsonl
  critap export ./rec --method PullImage | jq .view.request
  critap export ./rec --pod nginx --since 1h > nginx.jsonl
  critap export ./rec --format otlp --otlp-endpoint http://127.0.0.1:4317
  critap export ./damaged --salvage | critap import - ./damaged-salvaged
  critap export ./rec --format otlp --otlp-endpoint http://tempo.local:4317 \\
      --service-name critap-node-7 --upstream unix:///run/containerd/containerd.sock --since 2h
  critap export ./rec --format otlp --otlp-endpoint http://127.0.0.1:4317 --traces call
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...FILTER_FLAGS,
      ...SALVAGE_FLAG,
      format: { type: 'string' },
      out: { type: 'string' },
      'otlp-endpoint': { type: 'string' },
      'service-name': { type: 'string' },
      upstream: { type: 'string' },
      traces: { type: 'string' },
      'host-name': { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('wants exactly one recording folder');
    const format = values.format ?? 'jsonl';
    if (format === 'otlp') {
      const endpoint = values['otlp-endpoint']?.trim();
      if (!endpoint) throw new UsageError('--format otlp needs --otlp-endpoint, e.g. http://127.0.0.1:4317');
      if (!URL.canParse(endpoint)) throw new UsageError(`--otlp-endpoint wants a URL like http://127.0.0.1:4317, got "${endpoint}"`);
      if (values.out !== undefined) throw new UsageError('--out is for file formats; --format otlp sends spans to --otlp-endpoint');
      const shape = values.traces ?? 'pod-life';
      if (!(SHAPES as readonly string[]).includes(shape)) throw new UsageError(`--traces must be one of ${SHAPES.join(', ')}, got "${shape}"`);
      const filter = filterFromFlags(values);
      const rec = await openForCommand(positionals[0]!, values.salvage, 'export');
      try {
        const hostName = values['host-name']?.trim() || rec.manifest?.host || null;
        if (hostName === null) process.stderr.write(`critap export: ${positionals[0]!} does not say which node it was recorded on: host.name left out (--host-name sets it)\n`);
        const progress = new Progress('exported');
        const sent = await exportOtlp(rec, filter, { endpoint, serviceName: values['service-name'], upstream: values.upstream, shape: shape as 'pod-life' | 'call', hostName }, progress);
        progress.done(sent.spans);
        const lives = sent.lives ? ` in ${sent.lives.podLives + sent.lives.clientWindows} traces (${sent.lives.podLives} pod lives, ${sent.lives.clientWindows} client windows)` : '';
        process.stderr.write(`critap export: sent ${sent.spans} spans${lives} to ${endpoint}\n`);
        noMatchNote('export', positionals[0]!, sent.spans, values);
      } finally {
        await rec.close();
      }
      return 0;
    }
    const exporter = exporters[format];
    if (!exporter) throw new UsageError(`--format must be one of ${[...Object.keys(exporters), 'otlp'].join(', ')}, got "${format}"`);
    for (const flag of OTLP_ONLY) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} only applies to --format otlp`);
    }
    const filter = filterFromFlags(values);
    const rec = await openForCommand(positionals[0]!, values.salvage, 'export');
    try {
      let stream: NodeJS.WritableStream | import('node:stream').Writable = process.stdout;
      if (values.out !== undefined) {
        const file = createWriteStream(values.out);
        await new Promise<void>((resolve, reject) => {
          file.once('open', () => resolve());
          file.once('error', (err) => reject(new Error(`critap: cannot write ${values.out}: ${err.message}`)));
        });
        stream = file;
      }
      const out = new LineOutput(stream as import('node:stream').Writable);
      const progress = new Progress('exported');
      const n = await exporter(rec, filter, out, progress);
      await out.end();
      progress.done(n);
      noMatchNote('export', positionals[0]!, n, values);
    } finally {
      await rec.close();
    }
    return 0;
  },
};
