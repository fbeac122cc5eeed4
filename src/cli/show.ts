import type { Command } from './main.js';
import { parseCommandArgs, UsageError } from './args.js';
import { callView, type CallView } from '../record/call-view.js';
import { FILTER_FLAGS, FILTER_HELP, filterFromFlags, noMatchNote } from '../record/cli-filter.js';
import { shortMethod } from '../record/format.js';
import { LineOutput } from '../record/output.js';
import { SALVAGE_FLAG, SALVAGE_HELP, openForCommand } from './open-recording.js';

function indent(value: unknown, pad: string): string {
  return JSON.stringify(value, null, 2).split('\n').map((l) => pad + l).join('\n');
}

/** The readable form: a summary line, then the messages as indented JSON, like crictl -o json. */
function describe(v: CallView): string {
  const status = v.status.code === 0 ? 'OK' : `${v.status.codeName}${v.status.message ? `: ${v.status.message}` : ''}`;
  const lines = [`${v.start}  ${shortMethod(v.method)}  ${v.durationMs}ms  ${status}${v.end === 'trailers' ? '' : ` (${v.end})`}`];
  const ids = Object.entries(v.ids).filter(([, x]) => x !== undefined && x !== '');
  if (ids.length > 0) lines.push(`  ids: ${ids.map(([k, x]) => `${k}=${String(x)}`).join(' ')}`);
  if (v.peer && (v.peer.pid !== undefined || v.peer.address)) {
    lines.push(`  peer: ${v.peer.pid !== undefined ? `pid ${v.peer.pid}${v.peer.exe ? ` (${v.peer.exe})` : ''}` : v.peer.address}`);
  }
  if (v.redacted) lines.push(`  redacted: ${v.redacted.join(', ')}`);
  if (v.truncated) lines.push('  (bodies not captured: larger than the capture limit)');
  if (v.request !== undefined) lines.push('  request:', indent(v.request, '    '));
  if (v.response !== undefined) lines.push('  response:', indent(v.response, '    '));
  if (v.messages) {
    lines.push(`  messages (${v.messages.length}):`);
    for (const m of v.messages) lines.push(`    +${m.offsetMs}ms`, indent(m.message, '      '));
  }
  if (v.status.details) lines.push('  status details:', indent(v.status.details, '    '));
  return lines.join('\n') + '\n\n';
}

export const command: Command = {
  summary: 'print the calls of a recording, decoded',
  help: `Usage: critap show <recording> [flags]

Prints the recorded calls in start order: time, method, duration and status, then the
request and response (or every message of a stream) as indented JSON, with the
field names crictl uses in -o json.

Flags:
${FILTER_HELP}
  --json            one JSON object per line: method, start (ISO 8601 UTC with nanoseconds),
                    startNs (exact, a decimal string), durationMs, request and response (unary)
                    or messages (streams, each with offsetMs), status {code, codeName, message,
                    details}, ids, peer, redacted
${SALVAGE_HELP}

Examples:
  critap show ./rec
  critap show ./rec --method PullImage
  critap show ./rec --pod nginx --since 10m
  critap show ./rec --container 3f2a1b --json | jq .status
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { ...FILTER_FLAGS, ...SALVAGE_FLAG, json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('wants exactly one recording folder');
    const filter = filterFromFlags(values);
    const rec = await openForCommand(positionals[0]!, values.salvage, 'show');
    const out = new LineOutput(process.stdout);
    let shown = 0;
    try {
      for await (const call of rec.calls(filter)) {
        const v = callView(call);
        shown++;
        if (!(await out.write(values.json ? JSON.stringify(v) + '\n' : describe(v)))) break;
      }
    } finally {
      await rec.close();
    }
    noMatchNote('show', positionals[0]!, shown, values);
    return 0;
  },
};
