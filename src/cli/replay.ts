import type { Command } from './main.js';
import { UsageError, durationFlag, parseCommandArgs } from './args.js';
import { createLogger, isLogLevel } from '../log.js';
import { replay, type ReplayOptions } from '../replay/index.js';
import { parseRefuse } from '../replay/state/build.js';
import { parseIgnoreRule } from '../replay/ignore.js';
import { checkRequestRule } from '../cri/request-rule-check.js';
import { checkWritableFile } from '../writable-file.js';
import { parseTiming } from '../replay/timing.js';
import { parseEndpoint } from '../endpoint.js';
import { catchStopSignals, startOrRelease } from './until-signal.js';
import { parseFaultRule } from '../fault/rule.js';
import { startAdmin, type AdminServer } from '../fault/admin.js';

const HELP = `Usage: critap replay <recording> --listen <endpoint> [flags]

Serves a recording as a mock CRI runtime: every call is answered from the recording, with the
recorded bytes, status, headers and trailers, and no runtime behind it (unless --fallback).

State: replay follows the client's life cycle. It keeps its own view of the sandboxes,
containers and images the client has made, each in the phase the client's calls moved it to
(run → stopped → removed; created → running → exited → removed; pulled → removed), and answers
each call from a call recorded in the same phases. Lists show the client's world. A pod or
container made again (a second run, a restart) gets new ids and the recorded answers of the
first. An id replay never handed out is NOT_FOUND; a unique id prefix resolves like containerd.
Version, Status, ImageFsInfo, ImageStatus, ReopenContainerLog, UpdateRuntimeConfig,
UpdateContainerResources, ContainerStats and PodSandboxStats (and stops and removals of known
entities) get an answer made from the recording when it has none. A GetContainerEvents stream gets
the client's own container events as its calls make them. --no-state answers by request alone.

Each answer is one of: exact (the recorded answer to an equal request in the same phases),
nearest (a request that differs; the fields are named), state-chosen (a list from the client's
world, a status moved to the client's phase), templated (about a later life, with new ids),
synthesized (made by replay: housekeeping, NotFound), or miss. Guesses (all but exact) are
logged at info level the first time per method and kind; the counts are printed on exit.

Matching (--match):
  nearest    (default) an equal recorded request wins; else the recorded request of that method
             with the fewest differing fields answers, and values the client sent differently
             (temp paths, generated names) are echoed into the answer where the recorded answer
             repeated the recorded request's value
  exact      equal requests only; anything else is a miss
  sequence   the recorded order is enforced: each call must be of the method recorded next
Equal requests get their recorded answers in recorded order; when those run out the last one
repeats (--on-exhausted repeat) or the call fails (--on-exhausted error).

A miss answers UNIMPLEMENTED when the recording has no call of that method, NOT_FOUND when it
has some but none is acceptable; the message names the method and shows the closest recorded
request and how it differs. Every miss is logged; --misses writes them all out as JSON on exit.

Flags:
  --listen <endpoint>      where clients connect: unix:///path.sock, /path.sock or tcp://127.0.0.1:PORT
  --match <mode>           nearest, exact or sequence (default nearest)
  --timing <t>             none (default, at once), recorded, or a factor such as 0.5x or 2x
  --on-exhausted <what>    repeat (default) or error
  --ignore <path>          request field to leave out when comparing, [Method:]path, repeatable;
                           e.g. 'RunPodSandbox:config.annotations' or '**.labels["pod-template-hash"]'
                           (kubernetes.io/config.seen annotations are always ignored)
  --misses <file>          write the counts, every miss (method, request, closest call, differences) and
                           every guess (kind, why) as JSON on exit
  --refuse <kind,…>        answer these kinds as misses instead (NOT_FOUND): nearest, state-chosen,
                           templated, synthesized; e.g. --refuse nearest for a strict test
  --no-state               answer by request and recorded order alone (no life cycle)
  --fallback <endpoint>    send misses to this real runtime instead of failing them
  --record                 with --fallback: add the runtime's answers to the recording
  --record-env             the recording was made with --record-env (env values compared as they are)
  --redact <path>          the recording was made with this --redact (repeatable)
  --socket-mode <octal>    mode of the listening socket (default 0660)
  --fault <rule>           inject a fault, repeatable, e.g. method=RunPodSandbox,error=UNAVAILABLE,count=2
                           or method=Version,delay=1500ms (see critap proxy --help for the rule keys)
  --admin <endpoint>       control socket (mode 0600) for critap fault list|add|remove|clear
  --replay-injected        also serve recorded calls a proxy fault rule answered (default: left out,
                           so an injected error is never replayed as the runtime's answer)
  --grace <duration>       on SIGTERM/SIGINT, how long calls in flight may finish (default 5s)
  --log-level <level>      debug, info, warn or error (default info; debug explains each match)
  --log-json               JSON log lines

Examples:
  critap replay recordings/seed-walkthrough --listen /tmp/cri.sock
  critap call /tmp/cri.sock Version
  critap replay ./rec --listen unix:///run/critap/mock.sock --match exact --misses misses.json
  critap replay ./rec --listen /tmp/cri.sock --refuse nearest,synthesized
  critap replay recordings/container-events-synthetic --listen /tmp/cri.sock --timing recorded
  critap replay ./rec --listen /tmp/cri.sock --fallback unix:///run/containerd/containerd.sock --record
`;

const FLAGS = {
  listen: { type: 'string' },
  match: { type: 'string' },
  timing: { type: 'string' },
  'on-exhausted': { type: 'string' },
  ignore: { type: 'string', multiple: true },
  misses: { type: 'string' },
  refuse: { type: 'string', multiple: true },
  'no-state': { type: 'boolean' },
  fallback: { type: 'string' },
  record: { type: 'boolean' },
  'record-env': { type: 'boolean' },
  redact: { type: 'string', multiple: true },
  'socket-mode': { type: 'string' },
  fault: { type: 'string', multiple: true },
  admin: { type: 'string' },
  'replay-injected': { type: 'boolean' },
  grace: { type: 'string' },
  'log-level': { type: 'string' },
  'log-json': { type: 'boolean' },
} as const;

function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be ${allowed.join(', ')}, not "${value}"`);
  return value as T;
}

function withoutMiss<T extends { miss: number }>(counts: T): Omit<T, 'miss'> {
  const { miss: _miss, ...rest } = counts;
  return rest;
}

async function usageAsync(f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^critap:\s*/, ''));
  }
}

/** Turns a library error about bad input into a usage error, so it is printed with a hint. */
function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^critap:\s*/, ''));
  }
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const { values: v, positionals } = parseCommandArgs(argv, FLAGS);
    if (positionals.length === 0) throw new UsageError('which recording? e.g. critap replay recordings/seed-walkthrough --listen /tmp/cri.sock');
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    if (!v.listen) throw new UsageError('--listen is required, e.g. --listen /tmp/cri.sock');
    usage(() => parseEndpoint(v.listen!));
    if (v.fallback) usage(() => parseEndpoint(v.fallback!));
    if (v.admin !== undefined) usage(() => parseEndpoint(v.admin!));
    if (v.record && !v.fallback) throw new UsageError('--record needs --fallback: only calls the fallback runtime answers are added');
    const match = choice('match', v.match, ['nearest', 'exact', 'sequence'] as const);
    const onExhausted = choice('on-exhausted', v['on-exhausted'], ['repeat', 'error'] as const);
    if (v.timing !== undefined) usage(() => parseTiming(v.timing!));
    for (const rule of v.ignore ?? []) usage(() => checkRequestRule(parseIgnoreRule(rule), '--ignore'));
    if (v.misses !== undefined) await usageAsync(() => checkWritableFile(v.misses!, '--misses'));
    const level = v['log-level'] ?? 'info';
    if (!isLogLevel(level)) throw new UsageError(`--log-level must be debug, info, warn or error, not "${level}"`);
    const modeText = v['socket-mode'] ?? '0660';
    if (!/^0?[0-7]{3}$/.test(modeText)) throw new UsageError(`--socket-mode wants an octal mode like 0660, got "${modeText}"`);
    const graceMs = durationFlag('grace', v.grace) ?? 5000;
    const logger = createLogger({ level, json: v['log-json'] === true });
    const refuse = (v.refuse ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    usage(() => parseRefuse(refuse));
    for (const rule of v.fault ?? []) usage(() => parseFaultRule(rule));
    const redactPaths = (v.redact ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);

    // From here on a stop signal is ours: it may come while the socket is up but start-up still runs.
    const signals = catchStopSignals();
    const runtime = await startOrRelease(signals, () => replay({
      recording: positionals[0]!,
      listen: v.listen,
      match,
      timing: v.timing,
      onExhausted,
      ignore: v.ignore,
      fallback: v.fallback,
      record: v.record === true,
      redaction: v['record-env'] || redactPaths.length > 0 ? { keepEnv: v['record-env'] === true, extraPaths: redactPaths } : undefined,
      missesFile: v.misses,
      state: v['no-state'] !== true,
      refuse: refuse as ReplayOptions['refuse'],
      socketMode: Number.parseInt(modeText, 8),
      faults: v.fault,
      injected: v['replay-injected'] === true,
      logger,
    }));
    let admin: AdminServer | undefined;
    try {
      if (v.admin !== undefined) admin = await startAdmin(v.admin, runtime.faults, logger);
    } catch (err) {
      await runtime.close(0);
      throw err;
    }
    logger.info('critap replay started', {
      listen: runtime.endpoint,
      recording: positionals[0],
      match: match ?? 'nearest',
      timing: v.timing ?? 'none',
      fallback: v.fallback ?? 'off',
      state: v['no-state'] ? 'off' : 'on',
      pid: process.pid,
    });

    return signals.runUntil(
      logger,
      graceMs,
      async () => {
        await admin?.close();
        await runtime.close(graceMs);
        const counts = runtime.counts();
        return { answered: runtime.answered(), misses: runtime.misses.length, ...withoutMiss(counts), missesFile: v.misses };
      },
      'critap replay stopped',
    );
  },
};
