import type { Command } from './main.js';
import { parseCommandArgs, UsageError } from './args.js';
import { StatsCollector } from '../record/call-stats.js';
import { humanBytes, shortMethod, table } from '../record/format.js';
import { SALVAGE_FLAG, SALVAGE_HELP, openForCommand } from './open-recording.js';
import { describeFilter, FILTER_FLAGS, FILTER_HELP, filterFromFlags, noMatchNote } from '../record/cli-filter.js';
import { LineOutput } from '../record/output.js';

export const command: Command = {
  help: `Usage: critap stats <recording> [flags]

For each method: calls, errors (status other than OK, or a reset; a stream such as
GetContainerEvents that its client cancelled is how watches end, counted as "cancelled"
in --json, not as an error), latency p50/p90/p99/max
in milliseconds, and request (in) / response (out) bytes. Then the recorder's counters:
calls recorded, dropped (the writer could not keep up), redacted, removed by retention.
With filters (the same as show's), the figures are those of the matching calls; the
recorder's counters stay those of the whole recording.

Flags:
${FILTER_HELP}
  --json            one JSON object: { methods: [...], totals } (with filters also
                    "matched": the number of matching calls)
${SALVAGE_HELP}

Examples:
  critap stats ./rec
  critap stats ./rec --json | jq '.methods[] | select(.errors > 0)'
  critap stats recordings/seed-walkthrough --pod critap-walk
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...FILTER_FLAGS, json: { type: 'boolean' }, ...SALVAGE_FLAG });
    if (positionals.length !== 1) throw new UsageError('wants exactly one recording folder');
    const filter = filterFromFlags(values);
    const filtered = describeFilter(values) !== '' || values.limit !== undefined;
    const rec = await openForCommand(positionals[0]!, values.salvage, 'stats');
    let matched = 0;
    const collector = new StatsCollector();
    let info;
    try {
      for await (const call of rec.calls(filter)) {
        collector.add(call);
        matched++;
      }
      info = await rec.info();
    } finally {
      await rec.close();
    }
    noMatchNote('stats', positionals[0]!, matched, values);
    const methods = collector.result();
    // A reader that goes away early (`| head`) ends stats quietly, as it does show.
    const out = new LineOutput(process.stdout);
    const totals = { calls: info.calls, recorded: info.recorded, dropped: info.dropped, redacted: info.redacted, evicted: info.evicted };
    if (values.json) {
      await out.write(JSON.stringify(filtered ? { methods, totals, matched } : { methods, totals }) + '\n');
      return 0;
    }
    const rows = [['METHOD', 'CALLS', 'ERRORS', 'P50', 'P90', 'P99', 'MAX', 'IN', 'OUT']];
    for (const m of methods) {
      rows.push([shortMethod(m.method), String(m.calls), String(m.errors), `${m.p50Ms}`, `${m.p90Ms}`, `${m.p99Ms}`, `${m.maxMs}`, humanBytes(m.bytesIn), humanBytes(m.bytesOut)]);
    }
    await out.write(table(rows));
    await out.write(
      `\nlatency in ms.${filtered ? ` ${matched} calls match ${describeFilter(values) || `--limit ${values.limit}`}.` : ''} ${totals.calls} calls stored; recorded ${totals.recorded}, dropped ${totals.dropped}, ` +
        `redacted ${totals.redacted}, removed by retention ${totals.evicted}\n`,
    );
    if (totals.dropped > 0) await out.write(`warning: ${totals.dropped} calls were dropped while recording (queue full); the recording is incomplete\n`);
    return 0;
  },
};
