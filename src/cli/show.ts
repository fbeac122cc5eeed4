import type { Command } from './main.js';
import { parseCommandArgs, UsageError } from './args.js';
import { decodeMessage } from '../cri/decode.js';
import { callView, type CallView, type MessageDecoder } from '../record/call-view.js';
import { FILTER_FLAGS, FILTER_HELP, filterFromFlags, noMatchNote } from '../record/cli-filter.js';
import { clientName } from '../record/client-name.js';
import { NameBook, requestSummary, statusText, targetOf, timeOfDay } from '../record/call-summary.js';
import { shortMethod } from '../record/format.js';
import { humanCallView } from '../record/human-call-view.js';
import { LineOutput } from '../record/output.js';
import { RecentBodiesByType } from '../record/recent-bodies.js';
import type { StoredCall } from '../record/stored-call.js';
import { SALVAGE_FLAG, SALVAGE_HELP, openForCommand } from './open-recording.js';

function indent(value: unknown, pad: string): string {
  return JSON.stringify(value, null, 2).split('\n').map((l) => pad + l).join('\n');
}

/** The client as the text views name it: kubelet[4242], crictl[77], grpc-go. */
function clientLabel(call: StoredCall): string {
  const name = clientName(call);
  return call.peer?.pid !== undefined ? `${name}[${call.peer.pid}]` : name;
}

/** Request metadata as an object (repeated headers joined with ", ", as HTTP does), values as recorded. */
function metadataOf(call: StoredCall): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of call.requestMetadata) out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`;
  return out;
}

/** The compact view: one line a call. */
function line(call: StoredCall, v: CallView, names: NameBook): string {
  const method = shortMethod(v.method).replace(/^\w+\//, '');
  const summary = v.request !== undefined ? requestSummary(v.method, v.request) : '';
  const dur = `${v.durationMs}ms`;
  return `${timeOfDay(v)}  ${clientLabel(call).padEnd(15)} ${method.padEnd(21)} ${targetOf(names.complete(v.ids)).padEnd(28)} ${dur.padStart(10)}  ${statusText(v).padEnd(9)} ${summary}`.trimEnd() + '\n';
}

/** The verbose view: a summary line, the client, then the messages as indented JSON. */
function describe(call: StoredCall, v: CallView): string {
  const status = v.status.code === 0 ? 'OK' : `${v.status.codeName}${v.status.message ? `: ${v.status.message}` : ''}`;
  const lines = [`${v.start}  ${shortMethod(v.method)}  ${v.durationMs}ms  ${status}${v.end === 'trailers' ? '' : ` (${v.end})`}`];
  const ids = Object.entries(v.ids).filter(([, x]) => x !== undefined && x !== '');
  if (ids.length > 0) lines.push(`  ids: ${ids.map(([k, x]) => `${k}=${String(x)}`).join(' ')}`);
  if (v.peer && (v.peer.pid !== undefined || v.peer.address)) {
    lines.push(`  peer: ${v.peer.pid !== undefined ? `pid ${v.peer.pid}${v.peer.exe ? ` (${v.peer.exe})` : ''}` : v.peer.address}`);
  }
  const meta = metadataOf(call);
  if (meta['traceparent']) lines.push(`  traceparent: ${meta['traceparent']}`);
  if (meta['user-agent']) lines.push(`  user-agent: ${meta['user-agent']}`);
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
  help: `Usage: critap show <recording> [flags]

Prints the recorded calls in start order, one line each (like tcpdump): time of day (UTC,
the date on a line of its own when it changes), client[pid], method, pod and container,
duration, status and a few words of the request.

Values are shown as people read them: enums by name, with the zero values the CRI means
something by (state SANDBOX_READY, CONTAINER_CREATED, exitCode 0); bytes that hold text
(ExecSync stdout/stderr) as text; nanosecond times as RFC 3339; durations in ms.

Flags:
${FILTER_HELP}
  --verbose         every call in full: ids, client, traceparent, redactions, and the request
                    and response (or every message of a stream) as indented JSON, with the
                    field names crictl uses in -o json
  --json            one JSON object per line, the exact protobuf JSON mapping (bytes base64,
                    times in ns, zero values left out): method, start (ISO 8601 UTC with
                    nanoseconds), startNs (exact, a decimal string), durationMs, request and
                    response (unary) or messages (streams, each with offsetMs), status {code,
                    codeName, message, details}, ids, peer, client {name, pid, exe},
                    metadata (the request headers as recorded: traceparent, user-agent, ...),
                    redacted
  --follow          after the calls already there, print calls as a running
                    'critap proxy --record' stores them, until Ctrl-C
${SALVAGE_HELP}

Examples:
  critap show recordings/seed-walkthrough
  critap show recordings/seed-walkthrough --method PullImage --verbose
  critap show recordings/seed-walkthrough --pod critap-walk --since 2026-11-27T00:49:21Z
  critap show recordings/seed-walkthrough --json | jq -r .metadata.\\"user-agent\\"
  critap show ./rec --follow --method RunPodSandbox
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...FILTER_FLAGS,
      ...SALVAGE_FLAG,
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
      follow: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError('wants exactly one recording folder');
    if (values.json && values.verbose) throw new UsageError('--json and --verbose are two different outputs; pick one');
    const filter = filterFromFlags(values);
    const dir = positionals[0]!;
    const out = new LineOutput(process.stdout);
    let shown = 0;
    let day = '';
    const names = new NameBook();
    // A relist answer repeated call after call is decoded once (views are only read).
    const recentViews = new RecentBodiesByType<unknown>();
    const decode: MessageDecoder = (typeName, data) => recentViews.get(typeName, data, () => decodeMessage(typeName, data));
    const print = async (call: StoredCall): Promise<boolean> => {
      shown++;
      if (values.json) {
        const client = { name: clientName(call), ...(call.peer?.pid !== undefined ? { pid: call.peer.pid } : {}), ...(call.peer?.exe ? { exe: call.peer.exe } : {}) };
        return out.write(JSON.stringify({ ...callView(call, decode), client, metadata: metadataOf(call) }) + '\n');
      }
      if (values.verbose) return out.write(describe(call, humanCallView(callView(call, decode))));
      // The one-line view shows no answer: decoding each relist's 60-250 KB for it was most of a show.
      const v = humanCallView(callView({ ...call, responses: [] }));
      const today = v.start.slice(0, 10);
      const head = today !== day ? `--- ${today} (UTC) ---\n` : '';
      day = today;
      return out.write(head + line(call, v, names));
    };
    if (values.follow) {
      // Ctrl-C is how a follow ends: stop polling and exit 0.
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        // Loaded only here: a plain `show` never polls.
        const { followCalls } = await import('../record/follow.js');
        await followCalls(dir, filter, print, stop.signal, values.salvage === true);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      return 0;
    }
    const rec = await openForCommand(dir, values.salvage, 'show');
    try {
      for await (const call of rec.calls(filter)) if (!(await print(call))) break;
    } finally {
      await rec.close();
    }
    noMatchNote('show', dir, shown, values);
    return 0;
  },
};
