import { createWriteStream } from 'node:fs';
import type { Command } from './main.js';
import { parseCommandArgs, UsageError } from './args.js';
import { FILTER_FLAGS, FILTER_HELP, filterFromFlags } from '../record/cli-filter.js';
import { callToJsonl } from '../record/jsonl.js';
import { LineOutput } from '../record/output.js';
import { Progress } from '../record/progress.js';
import { openRecording, type CallFilter, type RecordingReader } from '../record/reader.js';

/** One entry per --format; each writes the selected calls and returns how many it wrote. */
type Exporter = (rec: RecordingReader, filter: CallFilter, out: LineOutput, progress: Progress) => Promise<number>;

const exporters: Record<string, Exporter> = {
  async jsonl(rec, filter, out, progress) {
    let n = 0;
    for await (const call of rec.calls(filter)) {
      if (!(await out.write(callToJsonl(call) + '\n'))) break;
      progress.update(++n);
    }
    return n;
  },
};

export const command: Command = {
  summary: 'write a recording out as JSONL (one call per line, bytes exact)',
  help: `Usage: critap export <recording> [--format jsonl] [--out FILE] [flags]

Writes the calls in start order. jsonl: one JSON object per line with every message
body and status detail as base64 (exact; 'critap import' rebuilds the same calls), plus
a "view" object with the decoded request/response for people and for jq.

Flags:
  --format F        ${Object.keys(exporters).join(', ')} (default jsonl)
  --out FILE        write to FILE instead of stdout
${FILTER_HELP}

Examples:
  critap export ./rec --format jsonl --out rec.jsonl
  critap export ./rec --method PullImage | jq .view.request
  critap export ./rec --pod nginx --since 1h > nginx.jsonl
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...FILTER_FLAGS, format: { type: 'string' }, out: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('wants exactly one recording folder');
    const format = values.format ?? 'jsonl';
    const exporter = exporters[format];
    if (!exporter) throw new UsageError(`--format must be one of ${Object.keys(exporters).join(', ')}, got "${format}"`);
    const filter = filterFromFlags(values);
    const rec = await openRecording(positionals[0]!);
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
    } finally {
      await rec.close();
    }
    return 0;
  },
};
