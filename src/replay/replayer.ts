/**
 * Replay's call handler: each incoming call is matched against the recording and answered with
 * the recorded headers, messages, status and trailers (at the recorded pace when asked), or
 * counted as a miss — and sent to the fallback runtime when there is one. Calls arrive from
 * replay's own HTTP/2 server (./h2), which writes each answer's frames in one batch.
 */
import * as grpc from '@grpc/grpc-js';
import type { CallRecord } from '../call.js';
import { decodeMessage, encodeMessage } from '../cri/codec.js';
import { lookupMethod, type MethodInfo } from '../cri/methods.js';
import { redactMessage, type RedactionRules } from '../cri/redact.js';
import type { Logger } from '../log.js';
import type { RecordingWriter } from '../record/writer.js';
import { answerFrom, fromMetadata, madeCall, toMetadata, type Answer } from './answer.js';
import type { Fallback } from './fallback.js';
import { encodeEnd, responseHeaderBlock, type EncodedEnd, type ServerCall } from './h2/server.js';
import type { Json } from './json-diff.js';
import type { Closest, Matcher, MissReason } from './matcher.js';
import { scaledMs, waitUntil, type Timing } from './timing.js';
import { sharedAnswerKey } from './answer-key.js';
import { ANSWER_KINDS, type AnswerKind, type Choice, type StatefulChooser } from './state/chooser.js';
import type { FaultSet, Injection } from '../fault/set.js';
import { FaultIds, injectedMessage, RST_INTERNAL_ERROR } from '../fault/call-ids.js';

export type { AnswerKind } from './state/chooser.js';

/** An answer that was not the recorded answer to an equal request in the same phase: what replay guessed, and why. */
export interface Guess {
  /** ISO time of the call. */
  time: string;
  method: string;
  kind: Exclude<AnswerKind, 'exact' | 'miss'>;
  why: string;
  /** Request fields that differed from the recorded call's (nearest and templated answers). */
  differences?: string[];
  /** The recorded call answering (0-based, recorded order), when one did. */
  index?: number;
}

/** At most this many guesses are kept for --misses and the library; the counts go on. */
const MAX_GUESSES = 10_000;
/** A call replay could not answer from the recording. */
export interface Miss {
  /** ISO time of the call. */
  time: string;
  method: string;
  reason: MissReason;
  /** gRPC status code answered (when no fallback answered instead). */
  code: number;
  message: string;
  /** The client's request, decoded (after redaction). */
  request: Json;
  closest?: Closest;
  /** The fallback runtime answered it (and, with record, it was added to the recording). */
  fallback?: boolean;
}

export interface ReplayerOptions {
  matcher: Matcher<CallRecord>;
  timing: Timing;
  redaction?: RedactionRules;
  fallback?: Fallback;
  writer?: RecordingWriter;
  logger: Logger;
  /** Follows the client's life cycle (absent for `--match sequence`). */
  chooser?: StatefulChooser;
  /** Kinds of answer to refuse: such a call is a miss instead. */
  refuse?: ReadonlySet<AnswerKind>;
  /** Injected faults (--fault, the admin socket): consulted before each call is answered. */
  faults?: FaultSet;
}

/** A request in the matcher's terms: the redacted, decoded JSON view (raw base64 when it does not decode). */
export function requestView(info: MethodInfo | undefined, bytes: Buffer, rules?: RedactionRules): Json {
  if (!info) return { $bytes: bytes.toString('base64') };
  try {
    return decodeMessage(info.requestType, redactMessage(info.requestType, bytes, rules));
  } catch {
    return { $undecodable: bytes.toString('base64') };
  }
}

/** Requests up to this size have their view kept, by bytes: a client asks the same things again and again. */
const VIEW_CACHE_MAX_REQUEST = 1024;
const VIEW_CACHE_ENTRIES = 4096;
/** Distinct small answers kept for sharing (answer-key.ts). */
const SHARED_ANSWERS = 4096;

/** Views are shared between calls with equal bytes: frozen, so code that changed one would fail loudly. */
function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}

/** An answer as header blocks, encoded once per answer (and so once per recorded call when no echo applies). */
interface WireAnswer {
  headers: Buffer | undefined;
  end: EncodedEnd;
}

const DEADLINE_EXCEEDED = 4;
const INTERNAL = 13;
const UNIMPLEMENTED = 12;

export class Replayer {
  readonly misses: Miss[] = [];
  readonly guesses: Guess[] = [];
  /** Answers given, by kind (misses included). */
  readonly counts = Object.fromEntries(ANSWER_KINDS.map((k) => [k, 0])) as Record<AnswerKind, number>;
  answered = 0;
  /** Method and kind of guesses already logged at info level (later ones go to debug). */
  private readonly loggedGuesses = new Set<string>();
  /** Paths served, and whether each is server-streaming. */
  private readonly methods = new Map<string, boolean>();

  /** Pod names of sandboxes and containers seen, for rules with pod=/container=/…; fed only while such rules exist. */
  private readonly faultIds = new FaultIds();

  constructor(private readonly opts: ReplayerOptions) {}

  /** Serves every CRI method, and every recorded path outside the schema. */
  serve(recorded: readonly CallRecord[], schemaMethods: readonly MethodInfo[]): void {
    for (const m of schemaMethods) this.methods.set(m.path, m.serverStreaming);
    // A method the schema does not know is treated as a stream when any recording of it has several answers.
    for (const c of recorded) if (!lookupMethod(c.method)) this.methods.set(c.method, (this.methods.get(c.method) ?? false) || c.responses.length > 1);
  }

  /**
   * Answers without echo never change: each recorded call's is found again through
   * plainAnswers, and small unpaced ones are shared between calls recorded with the same answer
   * (answer-key.ts; the map is emptied when full, calls keep theirs). Without the sharing, a
   * 70 000-call recording kept 70 000 answers; without the per-call map, the key was made again
   * on every call: 8.25 against 5.75 µs a call over a recording served twice and more.
   */
  private readonly sharedAnswers = new Map<string, Answer>();
  private readonly plainAnswers = new WeakMap<CallRecord, Answer>();
  private readonly wireAnswers = new WeakMap<Answer, WireAnswer>();

  private plainAnswer(call: CallRecord, info: MethodInfo | undefined): Answer {
    let a = this.plainAnswers.get(call);
    if (a) return a;
    const key = this.opts.timing === undefined ? sharedAnswerKey(call) : undefined;
    a = key === undefined ? undefined : this.sharedAnswers.get(key);
    if (!a) {
      a = answerFrom(call, info, new Map());
      if (key !== undefined) {
        if (this.sharedAnswers.size >= SHARED_ANSWERS) this.sharedAnswers.clear();
        this.sharedAnswers.set(key, a);
      }
    }
    this.plainAnswers.set(call, a);
    return a;
  }

  /** Answers replay made itself; one the chooser hands out again (an unchanged list) is encoded once. */
  private readonly madeAnswers = new WeakMap<object, Answer>();

  private madeAnswer(path: string, info: MethodInfo, made: { answer: Json; code: number; message: string }, echo: ReadonlyMap<string, string>): Answer {
    const cached = this.madeAnswers.get(made);
    if (cached) return cached;
    const a = answerFrom(madeCall(path, info, made.answer, made.code, made.message), info, new Map(echo));
    this.madeAnswers.set(made, a);
    return a;
  }

  private wire(a: Answer): WireAnswer {
    let w = this.wireAnswers.get(a);
    if (!w) {
      const details = a.trailers.get('grpc-status-details-bin')[0];
      w = {
        headers: a.headers ? responseHeaderBlock(fromMetadata(a.headers)) : undefined,
        end: encodeEnd({ code: a.code, message: a.message, details: Buffer.isBuffer(details) ? details : undefined }, fromMetadata(a.trailers)),
      };
      this.wireAnswers.set(a, w);
    }
    return w;
  }

  private choose(path: string, info: MethodInfo | undefined, view: Json): Choice {
    if (this.opts.chooser && info) return this.opts.chooser.choose(path, info, view);
    const r = this.opts.matcher.match(path, view);
    if (r.kind === 'miss') return r;
    return { kind: r.differences.length > 0 ? 'nearest' : 'exact', call: r.value, index: r.index, echo: r.echo, differences: r.differences, why: r.explanation };
  }

  /** A stream of the client's own container events: open until the client leaves (or its deadline). */
  private liveEvents(call: ServerCall, info: MethodInfo): void {
    const unsubscribe = this.opts.chooser!.subscribe((event) => {
      if (call.closed) return;
      try {
        call.sendMessage(encodeMessage(info.responseType, event));
      } catch (err) {
        this.opts.logger.error('replay could not encode a container event', { error: (err as Error).message });
      }
    });
    call.sendHeaders(fromMetadata(undefined));
    const done = () => {
      unsubscribe();
      clearTimeout(timer);
    };
    const timer = call.deadline === undefined ? undefined : setTimeout(() => {
      done();
      if (!call.closed) call.end({ code: DEADLINE_EXCEEDED, message: 'critap replay: deadline exceeded (an event stream stays open until the client leaves)' });
    }, Math.max(0, call.deadline - performance.now()));
    call.signal.addEventListener('abort', done, { once: true });
  }

  /** Decoded, redacted requests by method, then by bytes (small requests only; emptied when full). */
  private readonly views = new Map<string, Map<string, Json>>();
  private viewCount = 0;

  private viewOf(path: string, info: MethodInfo | undefined, bytes: Buffer): Json {
    if (bytes.length > VIEW_CACHE_MAX_REQUEST) return requestView(info, bytes, this.opts.redaction);
    let byBytes = this.views.get(path);
    if (byBytes === undefined) this.views.set(path, (byBytes = new Map()));
    const key = bytes.toString('latin1');
    let view = byBytes.get(key);
    if (view === undefined) {
      view = requestView(info, bytes, this.opts.redaction);
      deepFreeze(view);
      if (this.viewCount >= VIEW_CACHE_ENTRIES) {
        for (const m of this.views.values()) m.clear();
        this.viewCount = 0;
      }
      byBytes.set(key, view);
      this.viewCount++;
    }
    return view;
  }

  private decide(path: string, bytes: Buffer): { info?: MethodInfo; view: Json; answer?: Answer; miss?: Miss; live?: boolean } {
    const info = lookupMethod(path);
    const view = this.viewOf(path, info, bytes);
    let c = this.choose(path, info, view);
    if (c.kind !== 'miss' && this.opts.refuse?.has(c.kind)) {
      c = { kind: 'miss', reason: 'refused', code: 5, message: `critap replay: refused a ${c.kind} answer (--refuse ${c.kind}): ${c.why}` };
    }
    if (c.kind !== 'miss') {
      this.answered++;
      this.counts[c.kind]++;
      if (c.kind !== 'exact') this.guessed(path, c);
      if (c.live) return { info, view, live: true };
      let answer: Answer;
      if (c.made) answer = this.madeAnswer(path, info!, c.made, c.echo);
      else if (c.echo.size === 0 && !c.edit) answer = this.plainAnswer(c.call!, info);
      else answer = answerFrom(c.call!, info, c.echo, c.edit);
      return { info, view, answer };
    }
    this.counts.miss++;
    const miss: Miss = { time: new Date().toISOString(), method: path, reason: c.reason, code: c.code, message: c.message, request: view };
    if (c.closest) miss.closest = c.closest;
    this.misses.push(miss);
    this.opts.logger.warn('replay miss', { method: path, reason: c.reason, message: c.message });
    return { info, view, miss };
  }

  /** Says what was guessed: at info level the first time a method gets a kind of guess, at debug after that. */
  private guessed(path: string, c: Extract<Choice, { call?: unknown }>): void {
    if (c.kind === 'exact') return;
    const g: Guess = { time: new Date().toISOString(), method: path, kind: c.kind, why: c.why };
    if (c.differences.length > 0) g.differences = c.differences.map((d) => d.path);
    if (c.index !== undefined) g.index = c.index;
    if (this.guesses.length < MAX_GUESSES) this.guesses.push(g);
    const key = `${path}|${c.kind}`;
    const logger = this.opts.logger;
    if (!this.loggedGuesses.has(key)) {
      this.loggedGuesses.add(key);
      logger.info(`replay answered with a ${c.kind} guess (further ${c.kind} answers to this method are logged at debug level)`, { method: path, why: c.why });
    } else if (logger.enabled('debug')) {
      logger.debug(`replay answered with a ${c.kind} guess`, { method: path, why: c.why });
    }
  }

  /** The server's call handler. */
  readonly handle = (call: ServerCall): void => {
    const streaming = this.methods.get(call.path);
    if (streaming === undefined) {
      call.end({ code: UNIMPLEMENTED, message: `critap replay: unknown method ${call.path}: neither the CRI schema nor the recording has it` });
      return;
    }
    const faults = this.opts.faults;
    if (faults !== undefined && faults.size > 0) {
      let injection: Injection | undefined;
      try {
        const ids = faults.wantsIds ? this.faultIds.ofRequest(call.path, call.request) : undefined;
        injection = faults.decide(call.path, ids);
      } catch (err) {
        this.internalError(call, err);
        return;
      }
      if (injection) {
        this.injected(call, streaming, injection).catch((err: unknown) => this.internalError(call, err));
        return;
      }
    }
    this.answer(call, streaming);
  };

  /** A call a fault rule fired on: delayed, failed, hung, reset or answered late, as the rule says. */
  private async injected(call: ServerCall, streaming: boolean, injection: Injection): Promise<void> {
    const rule = injection.rule;
    this.opts.logger.info('injected a fault', { method: call.path, rule: injection.ruleId, fault: rule.text });
    if (rule.delayMs !== undefined && !(await this.waitOrDeadline(call, rule.delayMs, 'a delay'))) return;
    if (rule.error !== undefined) {
      const end = () => call.end({ code: rule.error!, message: rule.message ?? injectedMessage(injection) });
      if (rule.delayResponseMs === undefined) end();
      else if (await this.waitOrDeadline(call, rule.delayResponseMs, 'a delayed answer')) end();
      return;
    }
    if (rule.hang) {
      await this.waitOrDeadline(call, Number.POSITIVE_INFINITY, 'a hang');
      return;
    }
    if (rule.reset) {
      call.reset(RST_INTERNAL_ERROR);
      return;
    }
    if (rule.delayResponseMs === undefined) {
      this.answer(call, streaming);
      return;
    }
    // Decided now (the state moves as if the runtime did the work), delivered later.
    const d = this.decideFor(call);
    if (d && (await this.waitOrDeadline(call, rule.delayResponseMs, 'a delayed answer'))) this.answerDecided(call, streaming, d);
  }

  /**
   * Waits `ms` (Infinity: for ever); false when the call ended first. The client's deadline
   * coming first is answered DEADLINE_EXCEEDED then, as a real runtime's would be.
   */
  private async waitOrDeadline(call: ServerCall, ms: number, what: string): Promise<boolean> {
    const start = performance.now();
    const deadline = call.deadline;
    if (deadline !== undefined && start + ms >= deadline) {
      await waitUntil(start, deadline - start, call.signal);
      if (!call.closed) call.end({ code: DEADLINE_EXCEEDED, message: `critap: deadline exceeded during ${what} (injected fault)` });
      return false;
    }
    if (Number.isFinite(ms)) await waitUntil(start, ms, call.signal);
    else if (!call.signal.aborted) await new Promise((resolve) => call.signal.addEventListener('abort', resolve, { once: true }));
    return !call.closed;
  }

  /** Answers from the recording (or the fallback), synchronously when it can. */
  private answer(call: ServerCall, streaming: boolean): void {
    const d = this.decideFor(call);
    if (d) this.answerDecided(call, streaming, d);
  }

  private decideFor(call: ServerCall): ReturnType<Replayer['decide']> | undefined {
    try {
      const d = this.decide(call.path, call.request);
      if (this.opts.faults?.wantsIds && d.answer) this.faultIds.learnAnswer(call.path, call.request, d.answer.messages[0]?.data);
      return d;
    } catch (err) {
      this.internalError(call, err);
      return undefined;
    }
  }

  private answerDecided(call: ServerCall, streaming: boolean, d: ReturnType<Replayer['decide']>): void {
    if (d.live) {
      this.liveEvents(call, d.info!);
      return;
    }
    // The common case answers synchronously: no timers, no promise, no abort machinery.
    if (d.answer && this.opts.timing === undefined) {
      this.sendAll(call, d.answer);
      return;
    }
    const work = d.answer ? this.paced(call, d.answer, streaming) : this.fromFallback(call, streaming, d);
    work.catch((err: unknown) => this.internalError(call, err));
  }

  /** The whole answer at once: its frames leave in the connection's next write. */
  private sendAll(call: ServerCall, answer: Answer): void {
    const w = this.wire(answer);
    if (w.headers) call.sendHeaders(w.headers);
    for (const m of answer.messages) call.sendMessage(m.data);
    // The runtime never ended this stream (the client left): neither does replay.
    if (!answer.leaveOpen) call.endEncoded(w.end);
  }

  /**
   * The answer at the recorded pace (scaled). What would come after the client's deadline is
   * replaced by DEADLINE_EXCEEDED at the deadline: the client gives up then anyway.
   */
  private async paced(call: ServerCall, answer: Answer, streaming: boolean): Promise<void> {
    const start = performance.now();
    const signal = call.signal;
    const timing = this.opts.timing;
    /** Waits until `atMs` after the start; false when the call is over or the deadline came first. */
    const reach = async (atMs: number): Promise<boolean> => {
      const deadline = call.deadline;
      if (deadline !== undefined && start + atMs > deadline) {
        await waitUntil(start, deadline - start, signal);
        if (!call.closed) {
          const what = Number.isFinite(atMs) ? `takes ${atMs.toFixed(0)} ms,` : 'stays open';
          call.end({ code: DEADLINE_EXCEEDED, message: `critap replay: deadline exceeded: the recorded answer ${what} past the client's grpc-timeout` });
        }
        return false;
      }
      await waitUntil(start, atMs, signal);
      return !call.closed;
    };
    if (!streaming) {
      if (await reach(scaledMs(answer.durationNs, timing))) this.sendAll(call, answer);
      return;
    }
    const w = this.wire(answer);
    if (w.headers) call.sendHeaders(w.headers);
    for (const m of answer.messages) {
      if (!(await reach(scaledMs(m.offsetNs, timing)))) return;
      call.sendMessage(m.data);
    }
    if (answer.leaveOpen) {
      // Left open like the runtime left it, until the client's deadline (if it has one).
      if (call.deadline !== undefined) await reach(Number.POSITIVE_INFINITY);
      return;
    }
    if (await reach(scaledMs(answer.durationNs, timing))) call.endEncoded(w.end);
  }

  /** A miss: the fallback runtime's answer (relayed as it comes for streams), or the miss error. */
  private async fromFallback(call: ServerCall, streaming: boolean, d: { info?: MethodInfo; view: Json; miss?: Miss }): Promise<void> {
    const miss = d.miss!;
    if (!this.opts.fallback) {
      call.end({ code: miss.code, message: miss.message });
      return;
    }
    const relay = streaming
      ? { headers: (md: grpc.Metadata) => call.sendHeaders(fromMetadata(md)), message: (data: Buffer) => call.sendMessage(data) }
      : { headers: () => {}, message: () => {} };
    const rec = await this.viaFallback(call, streaming, d, relay);
    if (!rec || call.closed) return;
    const a = answerFrom(rec, d.info, new Map());
    const w = this.wire(a);
    if (!streaming) {
      this.sendAll(call, { ...a, leaveOpen: false });
      return;
    }
    if (w.headers) call.sendHeaders(w.headers); // ignored when relayed already
    call.endEncoded(w.end);
  }

  private internalError(call: ServerCall, err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.opts.logger.error('replay failed to answer a call', { method: call.path, error: msg });
    if (!call.closed) call.end({ code: INTERNAL, message: `critap replay: ${msg}` });
  }

  /** Sends a miss to the fallback runtime; records its answer when asked. */
  private async viaFallback(
    call: ServerCall,
    streaming: boolean,
    d: { view: Json; miss?: Miss },
    events: { headers(md: grpc.Metadata): void; message(data: Buffer): void },
  ): Promise<CallRecord | undefined> {
    const { fallback, writer, logger } = this.opts;
    if (!fallback) return undefined;
    d.miss!.fallback = true;
    const path = call.path;
    logger.info('replay miss sent to the fallback runtime', { method: path, fallback: fallback.endpoint });
    // The client's deadline, as grpc-js wants it (a wall-clock Date).
    const deadline = call.deadline === undefined ? undefined : new Date(Date.now() + Math.max(0, call.deadline - performance.now()));
    const rec = await fallback.forward(path, call.request, toMetadata(call.metadata), { streaming, deadline, signal: call.signal }, events);
    if (writer && rec.end === 'trailers') {
      try {
        await writer.append(rec);
        this.opts.matcher.add({ method: path, request: d.view, value: rec });
        logger.info('added the fallback answer to the recording', { method: path, recording: writer.dir });
      } catch (err) {
        logger.error('could not add the fallback answer to the recording', { method: path, error: (err as Error).message });
      }
    }
    return rec;
  }
}
