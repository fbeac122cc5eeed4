/**
 * The grpc-js handlers of replay: each incoming call is matched against the recording and
 * answered with the recorded headers, messages, status and trailers (at the recorded pace when
 * asked), or counted as a miss — and sent to the fallback runtime when there is one.
 */
import * as grpc from '@grpc/grpc-js';
import type { CallRecord } from '../call.js';
import { decodeMessage } from '../cri/codec.js';
import { lookupMethod, type MethodInfo } from '../cri/methods.js';
import { redactMessage, type RedactionRules } from '../cri/redact.js';
import type { Logger } from '../log.js';
import type { RecordingWriter } from '../record/writer.js';
import { answerFrom, type Answer } from './answer.js';
import type { Fallback } from './fallback.js';
import type { Json } from './json-diff.js';
import type { Closest, Matcher, MissReason } from './matcher.js';
import { scaledMs, waitUntil, type Timing } from './timing.js';

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
}

const identity = (b: Buffer) => b;

/** A request in the matcher's terms: the redacted, decoded JSON view (raw base64 when it does not decode). */
export function requestView(info: MethodInfo | undefined, bytes: Buffer, rules?: RedactionRules): Json {
  if (!info) return { $bytes: bytes.toString('base64') };
  try {
    return decodeMessage(info.requestType, redactMessage(info.requestType, bytes, rules));
  } catch {
    return { $undecodable: bytes.toString('base64') };
  }
}

export class Replayer {
  readonly misses: Miss[] = [];
  answered = 0;

  constructor(private readonly opts: ReplayerOptions) {}

  /** Registers a handler for every CRI method and for every recorded path outside the schema. */
  register(server: grpc.Server, recorded: readonly CallRecord[], schemaMethods: readonly MethodInfo[]): void {
    const streaming = new Map<string, boolean>();
    for (const m of schemaMethods) streaming.set(m.path, m.serverStreaming);
    // A method the schema does not know is treated as a stream when any recording of it has several answers.
    for (const c of recorded) if (!lookupMethod(c.method)) streaming.set(c.method, (streaming.get(c.method) ?? false) || c.responses.length > 1);
    for (const [path, isStream] of streaming) {
      if (isStream) {
        server.register<Buffer, Buffer>(path, (call: grpc.ServerWritableStream<Buffer, Buffer>) => void this.stream(path, call), identity, identity, 'serverStream');
      } else {
        server.register<Buffer, Buffer>(
          path,
          (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => this.unary(path, call, cb),
          identity,
          identity,
          'unary',
        );
      }
    }
  }

  /** Answers without echo never change: built once per recorded call (grpc-js does not modify them). */
  private readonly plainAnswers = new WeakMap<CallRecord, Answer>();

  private plainAnswer(call: CallRecord, info: MethodInfo | undefined): Answer {
    let a = this.plainAnswers.get(call);
    if (!a) {
      a = answerFrom(call, info, new Map());
      this.plainAnswers.set(call, a);
    }
    return a;
  }

  private decide(path: string, bytes: Buffer): { info?: MethodInfo; view: Json; answer?: Answer; miss?: Miss } {
    const info = lookupMethod(path);
    const view = requestView(info, bytes, this.opts.redaction);
    const r = this.opts.matcher.match(path, view);
    if (r.kind === 'hit') {
      this.answered++;
      if (r.differences.length > 0 && this.opts.logger.enabled('debug')) this.opts.logger.debug(r.explanation);
      return { info, view, answer: r.echo.size === 0 ? this.plainAnswer(r.value, info) : answerFrom(r.value, info, r.echo) };
    }
    const miss: Miss = { time: new Date().toISOString(), method: path, reason: r.reason, code: r.code, message: r.message, request: view };
    if (r.closest) miss.closest = r.closest;
    this.misses.push(miss);
    this.opts.logger.warn('replay miss', { method: path, reason: r.reason, message: r.message });
    return { info, view, miss };
  }

  private unary(path: string, call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>): void {
    let d: ReturnType<Replayer['decide']>;
    try {
      d = this.decide(path, call.request);
    } catch (err) {
      this.internalError(path, err, (e) => cb(e));
      return;
    }
    // The common case answers synchronously: no timers, no promise, no abort machinery.
    if (d.answer && this.opts.timing === undefined) {
      this.sendUnary(call, cb, d.answer);
      return;
    }
    void (async () => {
      const start = performance.now();
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort());
      let answer = d.answer;
      if (!answer) {
        const rec = await this.viaFallback(path, call.request, call.metadata, call.getDeadline(), false, d, ac.signal);
        if (!rec) {
          cb({ code: d.miss!.code, details: d.miss!.message });
          return;
        }
        answer = answerFrom(rec, d.info, new Map());
      } else {
        await waitUntil(start, scaledMs(answer.durationNs, this.opts.timing), ac.signal);
      }
      if (!ac.signal.aborted) this.sendUnary(call, cb, answer);
    })().catch((err: unknown) => this.internalError(path, err, (e) => cb(e)));
  }

  private sendUnary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>, answer: Answer): void {
    if (answer.headers) call.sendMetadata(answer.headers);
    if (answer.code === 0) cb(null, answer.messages[0]?.data ?? Buffer.alloc(0), answer.trailers);
    else cb({ code: answer.code, details: answer.message, metadata: answer.trailers });
  }

  private stream(path: string, call: grpc.ServerWritableStream<Buffer, Buffer>): Promise<void> {
    return (async () => {
      const start = performance.now();
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort());
      call.on('error', () => {}); // write-after-cancel errors: the client has gone
      const d = this.decide(path, call.request);
      if (!d.answer) {
        let headersSent = false;
        const rec = await this.viaFallback(path, call.request, call.metadata, call.getDeadline(), true, d, ac.signal, {
          headers: (md) => {
            headersSent = true;
            call.sendMetadata(md);
          },
          message: (data) => call.write(data),
        });
        if (!rec) {
          call.emit('error', { code: d.miss!.code, details: d.miss!.message });
          return;
        }
        if (ac.signal.aborted) return;
        const a = answerFrom(rec, d.info, new Map());
        if (!headersSent && a.headers) call.sendMetadata(a.headers);
        this.endStream(call, a);
        return;
      }
      const answer = d.answer;
      if (answer.headers) call.sendMetadata(answer.headers);
      for (const m of answer.messages) {
        await waitUntil(start, scaledMs(m.offsetNs, this.opts.timing), ac.signal);
        if (ac.signal.aborted) return;
        call.write(m.data);
      }
      // The runtime never ended this stream (the client left): neither does replay.
      if (answer.leaveOpen) return;
      await waitUntil(start, scaledMs(answer.durationNs, this.opts.timing), ac.signal);
      if (ac.signal.aborted) return;
      this.endStream(call, answer);
    })().catch((err: unknown) => this.internalError(path, err, (e) => call.emit('error', e)));
  }

  private endStream(call: grpc.ServerWritableStream<Buffer, Buffer>, a: Answer): void {
    // grpc-js sends grpc-message "OK" on success whatever was recorded; errors keep their message.
    if (a.code === 0) call.end(a.trailers);
    else call.emit('error', { code: a.code, details: a.message, metadata: a.trailers });
  }

  private internalError(path: string, err: unknown, send: (e: grpc.ServiceError | { code: number; details: string }) => void): void {
    const msg = err instanceof Error ? err.message : String(err);
    this.opts.logger.error('replay failed to answer a call', { method: path, error: msg });
    try {
      send({ code: grpc.status.INTERNAL, details: `critap replay: ${msg}` });
    } catch {
      // the call is already over
    }
  }

  /** Sends a miss to the fallback runtime (when there is one); records its answer when asked. */
  private async viaFallback(
    path: string,
    request: Buffer,
    metadata: grpc.Metadata,
    deadline: grpc.Deadline,
    streaming: boolean,
    d: { view: Json; miss?: Miss },
    signal: AbortSignal,
    events: { headers(md: grpc.Metadata): void; message(data: Buffer): void } = { headers: () => {}, message: () => {} },
  ): Promise<CallRecord | undefined> {
    const { fallback, writer, logger } = this.opts;
    if (!fallback) return undefined;
    d.miss!.fallback = true;
    logger.info('replay miss sent to the fallback runtime', { method: path, fallback: fallback.endpoint });
    const rec = await fallback.forward(path, request, metadata, { streaming, deadline, signal }, events);
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
