import type { Command } from './main.js';
import { parseCommandArgs, UsageError } from './args.js';
import { findRecordings, folderSize } from '../record/find.js';
import { humanBytes, humanDuration, shortMethod, table } from '../record/format.js';
import { openRecording } from '../record/reader.js';
import { isoNs } from '../record/time.js';

export const command: Command = {
  help: `Usage: critap ls [dir] [--json]

Finds every recording (a folder with critap-recording.json) under dir (default: the
current folder) and prints its calls, size on disk, time span and busiest methods.
A recording that cannot be read is listed with the reason (for example, a proxy is
still writing it).

Flags:
  --json   one JSON object per recording

Examples:
  critap ls
  critap ls /var/lib/critap
  critap ls recordings --json
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    if (positionals.length > 1) throw new UsageError(`takes at most one folder, got ${positionals.length}`);
    const root = positionals[0] ?? '.';
    const dirs = await findRecordings(root);
    const rows: string[][] = [['RECORDING', 'CALLS', 'SIZE', 'FIRST CALL', 'SPAN', 'METHODS']];
    /** Reasons go under the table: one long or odd message must not push every column out of line. */
    const problems: string[] = [];
    for (const dir of dirs) {
      const size = await folderSize(dir);
      try {
        const rec = await openRecording(dir);
        const info = await rec.info();
        await rec.close();
        const top = Object.entries(info.methods).sort((a, b) => b[1] - a[1]);
        if (values.json) {
          process.stdout.write(
            JSON.stringify({
              dir,
              calls: info.calls,
              diskBytes: size,
              storedBytes: info.bytes,
              first: info.firstStartNs !== undefined ? isoNs(info.firstStartNs) : null,
              last: info.lastStartNs !== undefined ? isoNs(info.lastStartNs) : null,
              methods: info.methods,
              recorded: info.recorded,
              dropped: info.dropped,
            }) + '\n',
          );
          continue;
        }
        const methods = top.slice(0, 3).map(([m, n]) => `${shortMethod(m)}:${n}`).join(' ') + (top.length > 3 ? ` +${top.length - 3} more` : '');
        rows.push([
          dir,
          String(info.calls),
          humanBytes(size),
          info.firstStartNs !== undefined ? isoNs(info.firstStartNs).replace(/\.\d+Z$/, 'Z') : '-',
          info.firstStartNs !== undefined && info.lastStartNs !== undefined ? humanDuration(info.lastStartNs - info.firstStartNs) : '-',
          methods || '-',
        ]);
      } catch (err) {
        // eslint-disable-next-line no-control-regex
        const msg = (err as Error).message.replace(/^critap: /, '').replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
        if (values.json) process.stdout.write(JSON.stringify({ dir, diskBytes: size, error: msg }) + '\n');
        else {
          problems.push(`${dir}: ${msg}`);
          rows.push([dir, '?', humanBytes(size), '-', '-', `unreadable (note ${problems.length} below)`]);
        }
      }
    }
    if (!values.json) {
      if (dirs.length === 0) process.stderr.write(`critap: no recordings under ${root}\n`);
      else {
        process.stdout.write(table(rows));
        if (problems.length > 0) process.stdout.write(`\n${problems.map((p, i) => `${i + 1}. ${p}`).join('\n')}\n`);
      }
    }
    return 0;
  },
};
