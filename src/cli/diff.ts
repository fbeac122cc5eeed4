import { rename, writeFile } from 'node:fs/promises';
import type { Command } from './main.js';
import { parseCommandArgs, UsageError } from './args.js';
import { describeFilter, FILTER_FLAGS, FILTER_HELP, filterFromFlags } from '../record/cli-filter.js';
import type { StoredCall } from '../record/stored-call.js';
import { SharedBodies } from '../record/shared-bodies.js';
import { SALVAGE_FLAG, SALVAGE_HELP, openForCommand } from './open-recording.js';
import { diffRecordings } from '../diff/compare.js';
import { diffText } from '../diff/text.js';
import { checkWritableFile } from '../writable-file.js';
import { VERSION } from '../version.js';

async function readAll(dir: string, salvage: boolean | undefined, filter: ReturnType<typeof filterFromFlags>): Promise<StoredCall[]> {
  const rec = await openForCommand(dir, salvage, 'diff');
  const out: StoredCall[] = [];
  // Equal bodies as one buffer: memory for what the recording says, and diff compares each
  // different answer once (diff/compare.ts).
  const bodies = new SharedBodies();
  try {
    for await (const c of rec.calls(filter)) {
      bodies.shareCall(c);
      out.push(c);
    }
  } finally {
    await rec.close();
  }
  return out;
}

export const command: Command = {
  help: `Usage: critap diff <a> <b> [flags]

Lines the calls of two recordings up by life cycle, not by id: each call is named by the
object it is about as the workload names it (pod namespace/name, container name, image, or
the node) and its turn among that object's calls of the same method. Aligned calls are
compared field by field (status, request, response, stream messages), after masking what
differs between any two runs: ids, digests, times, IPs, loopback ports, /tmp folders and
streaming tokens; lists are compared as sets. Then per method: calls, p50 and p99 of a and
b, and the ratio of the p50s (b/a). Both recordings are read into memory.

Flags:
${FILTER_HELP}
                    (applied to both recordings)
  --json            one JSON object: { a, b, aligned, equal, differing: [{key, fields:
                    [{path, a, b}]}], onlyInA, onlyInB, latency: [{method, callsA, callsB,
                    p50A, p50B, p99A, p99B, ratio}] }
  --report FILE     also write the HTML report of b (see critap report) with the comparison
  --exit-code       exit 1 when the recordings differ (a field, or a call only on one side)
${SALVAGE_HELP}

Examples:
  critap diff recordings/seed-walkthrough recordings/seed-walkthrough
  critap diff ./rec-containerd ./rec-crio --method RunPodSandbox
  critap diff ./before-upgrade ./after-upgrade --json | jq '.latency[] | select(.ratio > 2)'
  critap diff ./rec-containerd ./rec-crio --report /tmp/diff.html
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...FILTER_FLAGS,
      ...SALVAGE_FLAG,
      json: { type: 'boolean' },
      report: { type: 'string' },
      'exit-code': { type: 'boolean' },
    });
    if (positionals.length !== 2) throw new UsageError('wants two recording folders: critap diff <a> <b>');
    const filter = filterFromFlags(values);
    if (values.report !== undefined) await checkWritableFile(values.report, '--report');
    const [aDir, bDir] = positionals as [string, string];
    const a = await readAll(aDir, values.salvage, filter);
    const b = await readAll(bDir, values.salvage, filter);
    const result = diffRecordings(aDir, a, bDir, b);
    process.stdout.write(values.json ? JSON.stringify(result) + '\n' : diffText(result, a.length, b.length));
    if (values.report !== undefined) {
      // Loaded here only: a text diff never pays for the report's page code.
      const { ReportBuilder } = await import('../report/collect.js');
      const { renderReport } = await import('../report/html/page.js');
      const { diffSection } = await import('../report/html/diff-section.js');
      const builder = new ReportBuilder();
      for (const c of b) builder.add(c);
      const html = renderReport(builder.result(bDir, describeFilter(values)), VERSION, diffSection(result));
      const tmp = `${values.report}.${process.pid}.tmp`;
      await writeFile(tmp, html);
      await rename(tmp, values.report);
      process.stderr.write(`critap diff: report written to ${values.report}\n`);
    }
    const differs = result.differing.length > 0 || result.onlyInA.length > 0 || result.onlyInB.length > 0;
    return values['exit-code'] && differs ? 1 : 0;
  },
};
