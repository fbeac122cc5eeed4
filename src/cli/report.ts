import { rename, writeFile } from 'node:fs/promises';
import type { Command } from './main.js';
import { durationFlag, parseCommandArgs, UsageError } from './args.js';
import { describeFilter, FILTER_FLAGS, FILTER_HELP, filterFromFlags, noMatchNote } from '../record/cli-filter.js';
import { SALVAGE_FLAG, SALVAGE_HELP, openForCommand } from './open-recording.js';
import { ReportBuilder, DEFAULT_LIMITS } from '../report/collect.js';
import { MAX_RELIST_POINTS } from '../report/pleg.js';
import { renderReport } from '../report/html/page.js';
import { checkWritableFile } from '../writable-file.js';
import { VERSION } from '../version.js';

export const command: Command = {
  help: `Usage: critap report <recording> --out FILE [flags]

Writes one HTML file that opens from disk with nothing fetched (style, script and data
inline): a summary (time span, calls, errors by code, clients, runtime and version), per
method calls, errors, p50/p90/p99/max, a latency histogram and bytes (the same figures as
critap stats), a timeline with one lane per pod and a row per container, a sequence
diagram of a pod (client <-> critap <-> runtime; click a call for its decoded request and
response, redacted as recorded), the PLEG relists (ListPodSandbox + ListContainers) over
time, the slowest calls and every failed call (DeadlineExceeded first).

Large recordings: the tables, histograms and PLEG figures are aggregates over every call;
past ${MAX_RELIST_POINTS} relists the PLEG chart shows time buckets; the timeline draws the first
${DEFAULT_LIMITS.lanes} pods (at most ${DEFAULT_LIMITS.barsPerLane} bars a pod besides its life-cycle calls), sequence diagrams
the first ${DEFAULT_LIMITS.sequencePods} pods (${DEFAULT_LIMITS.sequenceCalls} calls each), the failed list the first ${DEFAULT_LIMITS.failed} failures. What is
left out is counted on the page.

Flags:
  --out FILE        where to write the page (required)
${FILTER_HELP}
  --pleg-threshold D  relists slower than this are marked (default 1s; 500ms, 2s, ...)
${SALVAGE_HELP}

Examples:
  critap report recordings/seed-walkthrough --out /tmp/report.html
  critap report recordings/seed-walkthrough --pod critap-walk --out /tmp/pod.html
  critap report ./rec --since 2026-11-27T00:49:21Z --until 2026-11-27T00:50:00Z --out /tmp/window.html
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...FILTER_FLAGS,
      ...SALVAGE_FLAG,
      out: { type: 'string' },
      'pleg-threshold': { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('wants exactly one recording folder');
    if (values.out === undefined) throw new UsageError('wants --out FILE (the HTML page to write)');
    const filter = filterFromFlags(values);
    const threshold = durationFlag('pleg-threshold', values['pleg-threshold']) ?? 1000;
    await checkWritableFile(values.out, '--out');
    const dir = positionals[0]!;
    const rec = await openForCommand(dir, values.salvage, 'report');
    const builder = new ReportBuilder(DEFAULT_LIMITS, threshold);
    let n = 0;
    try {
      for await (const call of rec.calls(filter)) {
        builder.add(call);
        n++;
      }
    } finally {
      await rec.close();
    }
    noMatchNote('report', dir, n, values);
    const html = renderReport(builder.result(dir, describeFilter(values)), VERSION);
    // Written beside and renamed, so a reader never opens half a page.
    const tmp = `${values.out}.${process.pid}.tmp`;
    await writeFile(tmp, html);
    await rename(tmp, values.out);
    process.stderr.write(`critap report: ${n} calls, ${Math.ceil(html.length / 1024)} KiB, written to ${values.out}\n`);
    return 0;
  },
};
