/**
 * `critap replay` as a library: a recording served as a mock CRI runtime.
 *
 *   const runtime = await replay({ recording: 'recordings/seed-walkthrough' });
 *   // point a CRI client at runtime.endpoint … then:
 *   await runtime.close();
 *   assert.deepEqual(runtime.misses, []);
 */
import { writeFile } from 'node:fs/promises';
import { allMethods } from '../cri/methods.js';
import { validateRedactionRules, type RedactionRules } from '../cri/redact.js';
import { formatEndpoint, parseEndpoint } from '../endpoint.js';
import { silentLogger, type Logger } from '../log.js';
import { createRecording, type RecordingWriter } from '../record/writer.js';
import { Fallback } from './fallback.js';
import { DEFAULT_IGNORE, parseIgnoreRule } from './ignore.js';
import { checkRequestRule } from '../cri/request-rule-check.js';
import { checkWritableFile } from '../writable-file.js';
import { makeTempSocket, type TempSocket } from '../temp-socket.js';
import { loadRecordingCalls } from './load.js';
import type { MatchMode, OnExhausted } from './matcher.js';
import { Replayer, type AnswerKind, type Guess, type Miss } from './replayer.js';
import { parseRefuse } from './state/build.js';
import { prepareAnswers } from './answering.js';
import { startGrpcServer, type GrpcServer } from './h2/server.js';
import { parseTiming, type Timing } from './timing.js';
import { FaultSet } from '../fault/set.js';

export type { Miss, Guess, AnswerKind } from './replayer.js';
export type { MatchMode, OnExhausted } from './matcher.js';
export type { Difference } from './json-diff.js';

export interface ReplayOptions {
  /** The recording folder. It is never modified, except by `record`. */
  recording: string;
  /** Where clients connect: `unix:///path.sock`, `/path.sock` or `tcp://127.0.0.1:0`. Default: a new temp unix socket. */
  listen?: string;
  /** `nearest` (default), `exact` or `sequence`. */
  match?: MatchMode;
  /** `none` (default: at once), `recorded`, or a factor like `0.5x` / `2x` (or the number itself). */
  timing?: string | number;
  /** When the recorded answers to equal requests run out: `repeat` the last (default) or `error`. */
  onExhausted?: OnExhausted;
  /** Request fields left out when comparing, `[Method:]path` (see src/replay/ignore.ts); added to the defaults. */
  ignore?: string[];
  /** Send misses to this real runtime instead of failing them. */
  fallback?: string;
  /** With `fallback`: add the fallback's answers to the recording. */
  record?: boolean;
  /** Redaction the recording was made with (`--record-env`, `--redact` of the proxy); incoming requests get the same. */
  redaction?: RedactionRules;
  /** Write the misses and guesses here as JSON when closing. */
  missesFile?: string;
  /**
   * Follow the client's life cycle (default true; `match: 'sequence'` never does): answers come
   * from calls recorded in the phases the client's entities are in, lists show the client's
   * world, later lives of a recorded pod get new ids. See src/replay/state/.
   */
  state?: boolean;
  /** Kinds of answer to refuse, as misses: e.g. `['nearest']` (a test author's strict mode). */
  refuse?: Array<Exclude<AnswerKind, 'exact' | 'miss'>>;
  /** File mode of a unix socket (default 0o660). */
  socketMode?: number;
  /**
   * Also answer from calls a fault rule answered when they were recorded (injected errors, hangs,
   * resets); by default replay serves only the runtime's real answers.
   */
  injected?: boolean;
  /** Fault rules (`method=Version,delay=1s`; see src/fault/rule.ts), checked before anything starts. */
  faults?: string[];
  logger?: Logger;
}

export interface ReplayRuntime {
  /** Where to point CRI clients, e.g. `unix:///tmp/critap-replay-…/cri.sock`. */
  readonly endpoint: string;
  /** Every call the recording could not answer, in order (live: grows as calls miss). */
  readonly misses: Miss[];
  /** Calls answered from the recording so far. */
  answered(): number;
  /** Answers so far by kind: exact, nearest, state-chosen, templated, synthesized, miss. */
  counts(): Record<AnswerKind, number>;
  /** Every answer that was not exact, in order (live; at most 10,000 kept). */
  readonly guesses: Guess[];
  /** The live fault rules: add, remove, clear and list them while clients are connected. */
  readonly faults: FaultSet;
  /** Stops accepting, lets calls in flight finish for `graceMs` (default 5 s), closes everything. */
  close(graceMs?: number): Promise<void>;
}

function checkChoice<T extends string>(name: string, value: T | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) throw new Error(`critap: ${name} must be ${allowed.join(', ')}, not "${String(value)}"`);
  return value;
}

function timingOf(t: string | number | undefined): Timing {
  if (t === undefined) return undefined;
  if (typeof t === 'number') {
    if (!(t > 0) || !Number.isFinite(t)) throw new Error(`critap: timing must be a positive factor, not ${t}`);
    return t;
  }
  return parseTiming(t);
}

export async function replay(opts: ReplayOptions): Promise<ReplayRuntime> {
  const logger = opts.logger ?? silentLogger;
  const mode = checkChoice('match', opts.match, ['nearest', 'exact', 'sequence'], 'nearest');
  const onExhausted = checkChoice('onExhausted', opts.onExhausted, ['repeat', 'error'], 'repeat');
  const timing = timingOf(opts.timing);
  const ignore = [...DEFAULT_IGNORE, ...(opts.ignore ?? [])].map(parseIgnoreRule);
  for (const rule of ignore) checkRequestRule(rule, 'ignore');
  // Misses are written on close: a path that cannot be written must fail now, not lose the run's misses.
  if (opts.missesFile !== undefined) await checkWritableFile(opts.missesFile, 'missesFile');
  if (opts.redaction) validateRedactionRules(opts.redaction);
  if (opts.record && !opts.fallback) throw new Error('critap: record needs fallback: only calls a fallback runtime answers are added');
  // Parsed now: a bad listen fails before anything is opened.
  const listenGiven = opts.listen === undefined ? undefined : parseEndpoint(opts.listen);

  const refuse = parseRefuse(opts.refuse ?? []);
  const faults = new FaultSet(opts.faults ?? []);
  const calls = await loadRecordingCalls(opts.recording, { injected: opts.injected === true });
  const { matcher, chooser } = prepareAnswers(calls, { mode, onExhausted, ignore, redaction: opts.redaction, state: opts.state !== false, housekeeping: !opts.fallback });

  let writer: RecordingWriter | undefined;
  let fallback: Fallback | undefined;
  let server: GrpcServer | undefined;
  // Made only once the recording has loaded, inside the try: a replay that fails to start must
  // not leave its folder behind.
  let tempSocket: TempSocket | undefined;
  try {
    let listenAt = listenGiven;
    if (!listenAt) {
      tempSocket = await makeTempSocket('critap-replay-sock-', 'cri.sock');
      listenAt = { kind: 'unix', path: tempSocket.path };
    }
    if (opts.fallback) fallback = new Fallback(opts.fallback);
    if (opts.record) writer = await createRecording(opts.recording);
    const replayer = new Replayer({ matcher, timing, redaction: opts.redaction, fallback, writer, logger, chooser, refuse, faults });
    replayer.serve(calls, allMethods());
    server = await startGrpcServer({ listen: listenAt, handler: replayer.handle, socketMode: opts.socketMode ?? 0o660, logger });
    const running = server;
    const endpoint = formatEndpoint(running.endpoint);
    logger.debug('replay ready', { endpoint, calls: calls.length, match: mode, timing: timing === undefined ? 'none' : `${timing}x` });
    let closing: Promise<void> | undefined;
    return {
      endpoint,
      misses: replayer.misses,
      answered: () => replayer.answered,
      counts: () => ({ ...replayer.counts }),
      guesses: replayer.guesses,
      faults,
      close(graceMs = 5000) {
        closing ??= (async () => {
          try {
            await running.close(graceMs);
            fallback?.close();
            await writer?.close();
          } finally {
            // Even when the recording fails to flush, the temp folder is still ours to remove.
            await tempSocket?.remove();
          }
          if (opts.missesFile) {
            const report = { counts: replayer.counts, misses: replayer.misses, guesses: replayer.guesses };
            await writeFile(opts.missesFile, JSON.stringify(report, null, 2) + '\n');
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    await server?.close(0);
    fallback?.close();
    await writer?.close().catch(() => {});
    await tempSocket?.remove();
    throw err;
  }
}
