/**
 * Fault injection on one proxied connection. A call a rule may match is taken out of the
 * client→runtime byte stream (its header block re-encoded away, its DATA, RST_STREAM and
 * WINDOW_UPDATE frames kept here) and critap answers it itself: an error, a hang, a reset, or
 * the runtime's own answer fetched over critap's side connection after `delay` and handed to
 * the client after `delay-response`. Other streams never wait for it.
 *
 * Flow control stays whole: DATA critap keeps is credited back to the client (the runtime never
 * saw it), DATA critap sends counts against the stream window the client gives, and the
 * client's connection-level credit for critap's DATA is taken out of what it grants the runtime.
 */
import { gunzipSync } from 'node:zlib';
import type { Header } from '../call.js';
import { lookupMethod } from '../cri/methods.js';
import { injectedMessage, RST_INTERNAL_ERROR, type FaultIds } from '../fault/call-ids.js';
import type { FaultSet, Injection } from '../fault/set.js';
import type { Logger } from '../log.js';
import type { Fallback } from '../replay/fallback.js';
import { encodeGrpcMessage, encodeHeaderBlock, frame, headersFrames } from '../wire/frame-writer.js';
import { Flag, FrameType } from '../wire/h2.js';
import { parseGrpcTimeout } from './grpc-status.js';

const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const TEACHES_IDS = /\/(RunPodSandbox|CreateContainer)$/;
const MAX_FRAME = 16384;
const DEADLINE_EXCEEDED = 4;
const INTERNAL = 13;

export interface ProxyFaults {
  readonly set: FaultSet;
  readonly ids: FaultIds;
  /** critap's own connection to the runtime, for calls it delays. */
  readonly side: Fallback;
  readonly logger: Logger;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

class TakenCall {
  readonly chunks: Buffer[] = [];
  readonly ac = new AbortController();
  deadline: number | undefined;
  headersSent = false;
  ended = false;
  sendWindow: number;
  /** DATA frames (payloads) waiting for stream window, then maybe trailers. */
  private readonly waiting: Buffer[] = [];
  private trailers: Buffer[] | null = null;

  constructor(
    readonly id: number,
    readonly path: string,
    readonly headers: Header[],
    window: number,
    private readonly conn: ConnectionFaults,
  ) {
    this.sendWindow = window;
    for (const [k, v] of headers) if (k === 'grpc-timeout') {
      const ns = parseGrpcTimeout(v);
      if (ns !== undefined) this.deadline = performance.now() + ns / 1e6;
    }
  }

  sendHeaders(metadata: readonly Header[]): void {
    if (this.ended || this.headersSent) return;
    this.headersSent = true;
    const h: Header[] = [[':status', '200'], ['content-type', 'application/grpc'], ...metadata.filter(([k]) => !k.startsWith(':') && k !== 'content-type')];
    this.conn.write(headersFrames(this.id, encodeHeaderBlock(h), false));
  }

  sendMessage(data: Buffer): void {
    if (this.ended || this.trailers) return;
    this.sendHeaders([]);
    const msg = Buffer.allocUnsafe(5 + data.length);
    msg[0] = 0;
    msg.writeUInt32BE(data.length, 1);
    data.copy(msg, 5);
    for (let p = 0; p < msg.length; p += MAX_FRAME) this.waiting.push(msg.subarray(p, p + MAX_FRAME));
    this.pump();
  }

  end(code: number, message: string, trailers: readonly Header[] = [], details?: Buffer): void {
    if (this.ended || this.trailers) return;
    const h: Header[] = this.headersSent ? [] : [[':status', '200'], ['content-type', 'application/grpc']];
    h.push(['grpc-status', String(code)]);
    if (message) h.push(['grpc-message', encodeGrpcMessage(message)]);
    if (details) h.push(['grpc-status-details-bin', details.toString('base64').replace(/=+$/, '')]);
    for (const t of trailers) if (!t[0].startsWith(':') && t[0] !== 'grpc-status' && t[0] !== 'grpc-message' && t[0] !== 'grpc-status-details-bin') h.push(t);
    this.headersSent = true;
    this.trailers = headersFrames(this.id, encodeHeaderBlock(h), true);
    this.pump();
  }

  reset(code: number): void {
    if (this.ended) return;
    this.conn.write([frame(FrameType.RST_STREAM, 0, this.id, u32(code))]);
    this.finish();
  }

  credit(n: number): void {
    this.sendWindow += n;
    this.pump();
  }

  pump(): void {
    if (this.ended) return;
    const out: Buffer[] = [];
    while (this.waiting.length > 0 && this.waiting[0]!.length <= this.sendWindow) {
      const piece = this.waiting.shift()!;
      this.sendWindow -= piece.length;
      this.conn.owed += piece.length;
      out.push(frame(FrameType.DATA, 0, this.id, piece));
    }
    if (this.waiting.length === 0 && this.trailers) {
      out.push(...this.trailers);
      this.trailers = null;
      this.finish();
    }
    if (out.length > 0) this.conn.write(out);
  }

  /** The client reset the stream (deadline, cancel) or the connection went. */
  abort(): void {
    if (this.ended) return;
    this.finish();
    this.ac.abort();
  }

  private finish(): void {
    this.ended = true;
    this.conn.forget(this.id);
  }

  /** The request message, unframed (and gunzipped when the client compressed it). */
  request(): Buffer {
    const all = Buffer.concat(this.chunks);
    if (all.length < 5) return Buffer.alloc(0);
    const body = all.subarray(5, 5 + all.readUInt32BE(1));
    return all[0] === 1 ? gunzipSync(body) : body;
  }
}

export class ConnectionFaults {
  private readonly calls = new Map<number, TakenCall>();
  /** Connection-level credit the client will grant for critap's own DATA: not the runtime's to use. */
  owed = 0;
  private clientWindow = 65535;

  constructor(
    private readonly faults: ProxyFaults,
    /** Writes critap's own frames to the client (at a frame boundary of the runtime's stream). */
    readonly write: (frames: Buffer[]) => void,
    /** Tells the tap a rule fired on this stream, so its record and span say so. */
    private readonly mark: (streamId: number, fault: { ruleId: number; rule: string; actions: string[] }) => void,
  ) {}

  /** A new request: taken when some rule may match its method (the rule decides once the request is in). */
  take(streamId: number, path: string, headers: Header[], endStream: boolean): boolean {
    const set = this.faults.set;
    // While a rule names a pod or container, the calls that tell which pod a new id belongs to
    // go through critap's side connection too, so their answers are learnt.
    if (!set.mayMatch(path) && !(set.wantsIds && TEACHES_IDS.test(path))) return false;
    const call = new TakenCall(streamId, path, headers.filter(([k]) => !k.startsWith(':')), this.clientWindow, this);
    this.calls.set(streamId, call);
    this.ended.add(streamId);
    if (this.ended.size > 4096) this.ended.delete(this.ended.values().next().value as number);
    if (endStream) this.run(call);
    return true;
  }

  has(streamId: number): boolean {
    return this.calls.has(streamId);
  }

  forget(streamId: number): void {
    this.calls.delete(streamId);
  }

  /** FrameDivert: frames of taken streams, the client's SETTINGS, and connection credit while some is owed. */
  takes(type: number, streamId: number): boolean {
    if (streamId === 0) return type === FrameType.SETTINGS || (type === FrameType.WINDOW_UPDATE && this.owed > 0);
    return this.calls.has(streamId) || this.finishedTaken(streamId);
  }

  /** Frames after a taken call ended (a late RST_STREAM, WINDOW_UPDATE) must not reach the runtime either. */
  private readonly ended = new Set<number>();
  private finishedTaken(id: number): boolean {
    return this.ended.has(id);
  }

  frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer | undefined {
    if (streamId === 0) {
      if (type === FrameType.SETTINGS) {
        if (!(flags & Flag.ACK)) for (let p = 0; p + 6 <= payload.length; p += 6) if (payload.readUInt16BE(p) === SETTINGS_INITIAL_WINDOW_SIZE) this.clientWindow = payload.readUInt32BE(p + 2);
        return frame(type, flags, 0, payload);
      }
      const inc = payload.readUInt32BE(0) & 0x7fffffff;
      const kept = Math.min(this.owed, inc);
      this.owed -= kept;
      return inc - kept > 0 ? frame(FrameType.WINDOW_UPDATE, 0, 0, u32(inc - kept)) : undefined;
    }
    const call = this.calls.get(streamId);
    if (!call) return undefined;
    if (type === FrameType.DATA) {
      let body = payload;
      if (flags & Flag.PADDED) body = payload.subarray(1, payload.length - payload[0]!);
      call.chunks.push(Buffer.from(body));
      // The runtime never sees these bytes, so it would never give the client its window back.
      if (payload.length > 0) this.write([frame(FrameType.WINDOW_UPDATE, 0, 0, u32(payload.length)), frame(FrameType.WINDOW_UPDATE, 0, streamId, u32(payload.length))]);
      if (flags & Flag.END_STREAM) this.run(call);
    } else if (type === FrameType.RST_STREAM) {
      call.abort();
    } else if (type === FrameType.WINDOW_UPDATE) {
      call.credit(payload.readUInt32BE(0) & 0x7fffffff);
    }
    return undefined;
  }

  /** Header blocks after the first on a taken stream (request trailers) are dropped too. */
  dropsBlock(streamId: number): boolean {
    return this.calls.has(streamId) || this.ended.has(streamId);
  }

  closeAll(): void {
    for (const c of [...this.calls.values()]) c.abort();
  }

  private run(call: TakenCall): void {
    // After the current chunk: the tap reads the client's bytes after they were forwarded, and
    // must have seen the call begin before it sees critap's answer to it.
    queueMicrotask(() => this.start(call));
  }

  private start(call: TakenCall): void {
    this.injected(call).catch((err: unknown) => {
      this.faults.logger.error('fault injection failed on a call', { method: call.path, error: (err as Error).message });
      call.end(INTERNAL, `critap: fault injection failed: ${(err as Error).message}`);
    });
  }

  private async injected(call: TakenCall): Promise<void> {
    const request = call.request();
    const set = this.faults.set;
    const ids = set.wantsIds ? this.faults.ids.ofRequest(call.path, request) : undefined;
    const injection: Injection | undefined = set.decide(call.path, ids);
    const rule = injection?.rule;
    if (injection) {
      this.faults.logger.info('injected a fault', { method: call.path, rule: injection.ruleId, fault: injection.rule.text });
      this.mark(call.id, { ruleId: injection.ruleId, rule: injection.rule.text, actions: [...injection.actions] });
    }
    if (rule?.delayMs !== undefined && !(await waitOrDeadline(call, rule.delayMs))) return;
    if (rule?.error !== undefined) {
      if (rule.delayResponseMs !== undefined && !(await waitOrDeadline(call, rule.delayResponseMs))) return;
      call.end(rule.error, rule.message ?? injectedMessage(injection!));
      return;
    }
    if (rule?.hang) {
      await waitOrDeadline(call, Number.POSITIVE_INFINITY);
      return;
    }
    if (rule?.reset) {
      call.reset(RST_INTERNAL_ERROR);
      return;
    }
    const streaming = lookupMethod(call.path)?.serverStreaming === true;
    const holdAnswer = rule?.delayResponseMs !== undefined;
    const deadline = call.deadline === undefined ? undefined : new Date(Date.now() + Math.max(0, call.deadline - performance.now()));
    const relay = streaming && !holdAnswer;
    const rec = await this.faults.side.forward(call.path, request, this.faults.side.metadataOf(call.headers), { streaming, deadline, signal: call.ac.signal }, {
      headers: (md) => { if (relay) call.sendHeaders(fromGrpcMetadata(md)); },
      message: (data) => { if (relay) call.sendMessage(data); },
    });
    if (call.ended) return;
    if (set.wantsIds && rec.responses[0]) this.faults.ids.learnAnswer(call.path, request, rec.responses[0].data);
    if (holdAnswer && !(await waitOrDeadline(call, rule!.delayResponseMs!))) return;
    if (!relay) {
      if (rec.responses.length > 0 || rec.responseHeaders.length > 0) call.sendHeaders(rec.responseHeaders);
      for (const m of rec.responses) call.sendMessage(m.data);
    }
    call.end(rec.status.code, rec.status.message, rec.responseTrailers, rec.status.details);
  }
}

function fromGrpcMetadata(md: import('@grpc/grpc-js').Metadata): Header[] {
  const out: Header[] = [];
  for (const [k, values] of Object.entries(md.toJSON())) for (const v of values) out.push([k, Buffer.isBuffer(v) ? v.toString('base64') : String(v)]);
  return out;
}

/** Waits `ms` (Infinity: until the client gives up); at the client's deadline answers DEADLINE_EXCEEDED. */
async function waitOrDeadline(call: TakenCall, ms: number): Promise<boolean> {
  const start = performance.now();
  const until = call.deadline !== undefined ? Math.min(start + ms, call.deadline) : start + ms;
  const signal = call.ac.signal;
  if (!signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = Number.isFinite(until) ? setTimeout(done, until - start) : undefined;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
  if (call.ended) return false;
  if (call.deadline !== undefined && performance.now() >= call.deadline - 1 && start + ms > call.deadline) {
    call.end(DEADLINE_EXCEEDED, 'critap: deadline exceeded while a fault held the call');
    return false;
  }
  return true;
}
