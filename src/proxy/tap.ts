/**
 * Observes one proxied HTTP/2 connection (both directions) and turns its streams into
 * CallRecords for the sinks. It never changes a byte: the connection forwards first and
 * feeds the tap a view of the same chunks.
 *
 * HPACK state is mirrored per direction, so every header block must be read even when no
 * sink wants it. Without sinks (a bare proxy) the tap keeps only what forwarding needs of a call
 * (its stream, method and whether answer headers went out, for critap's own UNAVAILABLE and
 * GOAWAY answers): header blocks are skimmed (HpackDecoder.skim), DATA is not looked at, and no
 * record is built. With sinks, a block that repeats the last of its kind byte for byte against an
 * unchanged table is not read again (RepeatedBlock): it cannot change the table.
 */
import { bodyBytes, type CallRecord, type CallSink, type CallStart, type Header, type Peer, type TimedMessage } from '../call.js';
import { performance } from 'node:perf_hooks';
import { copyBytes } from '../copy-bytes.js';
import { nowNs } from '../clock.js';
import { FrameReader, type FrameEvents } from '../wire/frames.js';
import { HpackDecoder } from '../wire/hpack.js';
import { MessageAssembler, type MessageSink, type SpoolOptions } from '../wire/grpc-messages.js';
import { SPOOL_FROM_BYTES, SPOOL_PART_BYTES, type CaptureBudget } from './capture-budget.js';
import { codeFromReset, OK_STATUS, parseGrpcTimeout, statusFromTrailers } from './grpc-status.js';
import { OpenStreams } from './open-streams.js';

/** The status of a call no sink observes: never read, so never parsed from its trailers. */
const OK_NOT_READ: CallRecord['status'] = { code: 0, message: '' };
/**
 * Headers that describe one hop, not the call, and are not part of its metadata: connection,
 * keep-alive, proxy-connection, transfer-encoding, upgrade, te. Switched on length: most names
 * differ in length from all of them and take one comparison (a Set hashed each name).
 */
function isHopByHop(name: string): boolean {
  switch (name.length) {
    case 2: return name === 'te';
    case 7: return name === 'upgrade';
    case 10: return name === 'connection' || name === 'keep-alive';
    case 16: return name === 'proxy-connection';
    case 17: return name === 'transfer-encoding';
    default: return false;
  }
}
/**
 * A call's start time is read once, as performance.now(), and made wall-clock nanoseconds
 * (nowNs) only when its record is built: one clock reading and three BigInts fewer per call.
 * Both read the same monotonic clock; these anchors tie them together.
 */
const ANCHOR_MS = performance.now();
const ANCHOR_NS = nowNs();

function startNsOf(startMs: number): bigint {
  return ANCHOR_NS + BigInt(Math.round((startMs - ANCHOR_MS) * 1e6));
}
const SETTINGS_HEADER_TABLE_SIZE = 1;
/** Finished calls wait at most this long for the client's pid before going to the sinks without it. */
export const PEER_HOLD_LIMIT_MS = 3000;
/**
 * A client reset this close to the call's grpc-timeout counts as the deadline. The client starts
 * its clock before the request reaches critap and fires its reset on that clock, so the reset can
 * arrive a little *before* critap's own count of the timeout has run out.
 */
const DEADLINE_SLACK_NS = 10_000_000;
const EMPTY = Buffer.alloc(0);
/** A stream's message list before its first message (never added to: StreamBodies.add replaces it). */
const NO_MESSAGES: TimedMessage[] = Object.freeze([]) as unknown as TimedMessage[];
/** What a header-block list's slots hold between blocks (ConnectionTap.metadataOf). */
const CLEARED: Header = Object.freeze(['', '']) as unknown as Header;
/** responseHeaders of a stream without sinks once its answer headers went out (nothing is kept). */
const NOT_KEPT: Header[] = [];
/** Ended calls' states a connection keeps for use again (ConnectionTap.recycle). */
const MAX_ENDED = 128;
/** Spooled bodies are named by this counter: unique across the connections of one proxy process. */
let nextSpoolId = 1;

export interface TapOptions {
  sinks: readonly CallSink[];
  /** Largest message body kept for sinks; larger ones are counted, not copied. */
  captureLimit: number;
  /** Shared bound on bodies held at once for sinks (all connections). */
  budget?: CaptureBudget;
  peer?: Peer;
  /**
   * The client's pid/exe, being looked up since accept. Until it settles (or PEER_HOLD_LIMIT_MS
   * passes), finished calls are held here rather than handed to the sinks, so a client that is
   * gone before the lookup answers is still named in every call. Forwarding never waits for it.
   */
  peerLookup?: Promise<Peer | undefined>;
  /**
   * Parts of spooled bodies took the capture budget past its limit: the connection should stop
   * reading until `budget.drained` (back-pressure: bodies are never dropped for want of budget).
   */
  onBudgetFull?(): void;
  /** Called when a sink throws: sinks must not break forwarding, but their bugs must be seen. */
  onSinkError?(err: unknown): void;
  /** With `--propagate-trace`: the traceparent critap sent the runtime on this stream. */
  sentTraceparent?(streamId: number): string | undefined;
  /** The runtime announced SETTINGS_HEADER_TABLE_SIZE (a header rewriter mirrors the client's table too). */
  onRuntimeHeaderTableSize?(size: number): void;
}

interface StreamState {
  id: number;
  method: string;
  authority: string | undefined;
  /**
   * performance.now() at the call's start: offsets and the duration are measured on it, a double
   * (no BigInt per reading, as hrtime.bigint() made two for each message and the end).
   */
  startMs: number;
  timeoutNs: number | undefined;
  requestMetadata: Header[];
  /** Each direction's messages: NO_MESSAGES until the first (see StreamBodies.add). */
  requests: TimedMessage[];
  responses: TimedMessage[];
  /** Each direction's messages; null without sinks (bodies are not looked at then). */
  reqAsm: MessageAssembler | null;
  resAsm: MessageAssembler | null;
  reqBodies: StreamBodies | null;
  resBodies: StreamBodies | null;
  httpStatus: string | undefined;
  responseHeaders: Header[] | null;
  truncated: boolean;
  propagatedTraceparent: string | undefined;
  fault: CallRecord['fault'] | undefined;
}

export class ConnectionTap {
  private readonly streams = new OpenStreams<StreamState>();
  private readonly reqDecoder = new HpackDecoder();
  private readonly resDecoder = new HpackDecoder();
  /**
   * Each direction's header block as decoded (HpackDecoder.decodeInto), one list kept for all
   * blocks: a call keeps only its metadata, in a list of its own made to measure (metadataOf).
   */
  private readonly reqBlock: Header[] = [];
  private readonly resBlock: Header[] = [];
  /** States of ended calls, to be used again (see recycle). */
  private readonly ended: StreamState[] = [];
  /** The last header list metadataOf made of each kind: request metadata, answer headers, trailers. */
  private readonly lastKept: Header[][] = [[], [], []];
  /**
   * The last request block, and the last answer headers and trailers blocks, with what was
   * made of them: a kubelet's calls repeat them byte for byte (see RepeatedBlock).
   */
  private readonly lastRequest = new RepeatedBlock();
  private readonly lastAnswer = [new RepeatedBlock(), new RepeatedBlock()];
  /** `:status` of the block metadataOf read last. */
  private httpStatus: string | undefined;
  readonly clientReader: FrameReader;
  readonly serverReader: FrameReader;
  /** Some sink observes calls; without one, only what forwarding needs is kept. */
  private readonly observing: boolean;
  readonly capture: boolean;
  private readonly starters: CallSink[];
  /** A sink gives the budget back once done with the bodies (CallSink.releasesBudget). */
  readonly sinkReleases: boolean;
  /** The sink that takes large bodies in parts (CallSink.spoolsBodies), if any. */
  readonly spooler: CallSink | undefined;
  /** What every assembler of this connection is given: made once here, not per call. */
  private readonly reserveBodyBound: ((bytes: number) => boolean) | undefined;
  private readonly spoolOptions: SpoolOptions | undefined;
  peer: Peer | undefined;
  /** Finished calls waiting for the peer lookup; null once it settled. */
  private held: CallRecord[] | null = null;
  /** Resolves once no finished call waits for the peer lookup any more. */
  readonly settled: Promise<void>;

  constructor(readonly opts: TapOptions) {
    this.observing = opts.sinks.length > 0;
    this.capture = opts.sinks.some((s) => s.needsBodies);
    this.starters = opts.sinks.filter((s) => typeof s.onCallStart === 'function');
    this.sinkReleases = opts.sinks.some((s) => s.releasesBudget === true);
    this.spooler = opts.sinks.find((s) => s.spoolsBodies === true && typeof s.onBodyPart === 'function');
    const budget = opts.budget;
    this.reserveBodyBound = budget ? (n) => this.reserveBody(budget, n) : undefined;
    this.spoolOptions = this.spoolOptionsOf(this.spooler, budget);
    this.peer = opts.peer;
    this.clientReader = new FrameReader(this.clientEvents(), { preface: true });
    this.serverReader = new FrameReader(this.serverEvents(), { preface: false });
    if (opts.peerLookup) {
      this.held = [];
      this.settled = withinLimit(opts.peerLookup, PEER_HOLD_LIMIT_MS).then((p) => {
        if (p) this.peer = { ...this.peer, ...p };
        const held = this.held ?? [];
        this.held = null;
        for (const record of held) this.deliver(record);
      });
    } else {
      this.settled = Promise.resolve();
    }
  }

  /** critap itself sent the client GOAWAY with this last stream id: later streams are refused. */
  private refusedAbove: number | undefined;
  /** The highest stream id the client opened so far (what a GOAWAY from critap names). */
  lastStreamId = 0;
  /** A call on this connection has ended (its whole answer went to the client). */
  answered = false;
  /**
   * The clock as of the chunk being read (readClient, readServer): NaN until first read for it,
   * -1 between chunks. A chunk's events are read within microseconds of its arrival, so they
   * share one reading: a call's start, its messages and its end took four readings of
   * performance.now() (a call into the runtime each), and a chunk at 64 calls in flight holds
   * the frames of several calls.
   */
  private chunkMs = -1;

  /** Reads a chunk of the client's bytes (clientReader.push, with one clock reading for all of it). */
  readClient(chunk: Buffer): void {
    this.readChunk(this.clientReader, chunk);
  }

  /** Reads a chunk of the runtime's bytes, or critap's own answer frames (serverReader.push, one clock reading). */
  readServer(chunk: Buffer): void {
    this.readChunk(this.serverReader, chunk);
  }

  private readChunk(reader: FrameReader, chunk: Buffer): void {
    this.chunkMs = NaN;
    try {
      reader.push(chunk);
    } finally {
      this.chunkMs = -1;
    }
  }

  /** The start (performance.now()) made into nanoseconds last, and what it made (see startNsOf). */
  private lastStartMs = NaN;
  private lastStartNs = 0n;

  /**
   * startNsOf, for a start read from the same chunk as the last one again (calls sent together
   * end together): two BigInts fewer.
   */
  private callStartNs(startMs: number): bigint {
    if (startMs !== this.lastStartMs) {
      this.lastStartNs = startNsOf(startMs);
      this.lastStartMs = startMs;
    }
    return this.lastStartNs;
  }

  /** performance.now(), read once per chunk while one is read (see chunkMs), else afresh. For StreamBodies too. */
  nowMs(): number {
    const chunkMs = this.chunkMs;
    if (chunkMs >= 0) return chunkMs;
    const now = performance.now();
    if (Number.isNaN(chunkMs)) this.chunkMs = now;
    return now;
  }

  /**
   * critap told the client GOAWAY(lastStreamId) (the runtime went away): a stream above it that
   * the client sent before it read that ends 'refused', as the client will retry it, exactly
   * like a stream the runtime's own GOAWAY refused.
   */
  refuseAbove(lastStreamId: number): void {
    this.refusedAbove = lastStreamId;
    for (const s of this.streams.snapshot()) if (s.id > lastStreamId) this.finishRefusedByCritap(s);
  }

  private finishRefusedByCritap(s: StreamState): void {
    this.finish(s, 'refused', { code: 14, message: 'critap refused the call: the runtime closed the connection (GOAWAY); the client may retry it' }, []);
  }

  /** A fault rule fired on this open call: its record says so. */
  markInjected(streamId: number, fault: NonNullable<CallRecord['fault']>): void {
    const s = this.streams.get(streamId);
    if (s) s.fault = fault;
  }

  /** Calls still open on this connection. */
  get openCalls(): number {
    return this.streams.size;
  }

  /** Open stream ids with whether response headers went out on them (for critap's own error answers). */
  openStreamIds(): Array<{ id: number; headersSent: boolean; method: string }> {
    return this.streams.snapshot().map((s) => ({ id: s.id, headersSent: s.responseHeaders !== null, method: s.method }));
  }

  /** The connection is gone: every open call ends now. */
  closeAll(message: string): void {
    for (const s of this.streams.snapshot()) this.finish(s, 'connection-closed', { code: 14, message }, []);
  }

  private clientEvents(): FrameEvents {
    return {
      headers: (id, block) => this.requestHeaders(id, block, 0, block.length),
      headersIn: (id, chunk, start, end) => this.requestHeaders(id, chunk, start, end),
      ...(this.observing && {
        dataIn: (id: number, chunk: Buffer, start: number, end: number) => {
          const s = this.streams.get(id);
          if (s) s.reqAsm!.push(chunk, start, end);
        },
      }),
      dataEnd: () => {},
      rstStream: (id, code) => {
        const s = this.streams.get(id);
        if (!s) return;
        const elapsed = elapsedNs(s, this.nowMs());
        if (s.timeoutNs !== undefined && elapsed + DEADLINE_SLACK_NS >= s.timeoutNs) {
          this.finish(s, 'client-reset', { code: 4, message: 'deadline exceeded: the client gave up when its grpc-timeout ran out' }, []);
        } else {
          this.finish(s, 'client-reset', { code: 1, message: `cancelled by the client (RST_STREAM code ${code})` }, []);
        }
      },
      goaway: () => {},
      settings: (params) => {
        for (const [k, v] of params) if (k === SETTINGS_HEADER_TABLE_SIZE) this.resDecoder.setMaxTableSize(v);
      },
    };
  }

  private serverEvents(): FrameEvents {
    return {
      headers: (id, block, endStream) => this.answerHeaders(id, block, 0, block.length, endStream),
      headersIn: (id, chunk, start, end, endStream) => this.answerHeaders(id, chunk, start, end, endStream),
      ...(this.observing && {
        dataIn: (id: number, chunk: Buffer, start: number, end: number) => {
          const s = this.streams.get(id);
          if (s) s.resAsm!.push(chunk, start, end);
        },
      }),
      dataEnd: () => {},
      rstStream: (id, code) => {
        const s = this.streams.get(id);
        if (s) this.finish(s, 'server-reset', { code: codeFromReset(code), message: `the runtime reset the stream (RST_STREAM code ${code})` }, []);
      },
      goaway: (lastStreamId) => {
        for (const s of this.streams.snapshot()) {
          if (s.id > lastStreamId) {
            this.finish(s, 'refused', { code: 14, message: 'the runtime refused the call (GOAWAY); the client may retry it' }, []);
          }
        }
      },
      settings: (params) => {
        for (const [k, v] of params) {
          if (k !== SETTINGS_HEADER_TABLE_SIZE) continue;
          this.reqDecoder.setMaxTableSize(v);
          this.opts.onRuntimeHeaderTableSize?.(v);
        }
      },
    };
  }

  /** A request header block, block[start…end): a new call, or request trailers (read for HPACK only). */
  private requestHeaders(id: number, block: Buffer, start: number, end: number): void {
    const decoder = this.reqDecoder;
    if (!this.observing) {
      const method = decoder.skim(block, start, end);
      if (!this.streams.has(id)) this.begin(id, method, undefined, undefined, NOT_KEPT);
      return;
    }
    const last = this.lastRequest;
    if (last.matches(block, start, end, decoder.tableChanges)) {
      if (!this.streams.has(id)) this.begin(id, last.method, last.authority, last.timeoutNs, last.metadata);
      return;
    }
    const changes = decoder.tableChanges;
    const n = decoder.decodeInto(block, this.reqBlock, start, end);
    if (this.streams.has(id)) return; // request trailers: gRPC clients do not send them
    let method = '';
    let authority: string | undefined;
    let timeoutNs: number | undefined;
    const headers = this.reqBlock;
    for (let i = 0; i < n; i++) {
      const h = headers[i]!;
      const name = h[0];
      if (name === ':path') method = h[1];
      else if (name === ':authority') authority = h[1];
      else if (name === 'grpc-timeout') timeoutNs = parseGrpcTimeout(h[1]);
    }
    const metadata = this.metadataOf(headers, n, 0);
    if (decoder.tableChanges === changes && last.remember(block, start, end, changes)) {
      last.method = method;
      last.authority = authority;
      last.timeoutNs = timeoutNs;
      last.metadata = metadata;
    }
    this.begin(id, method, authority, timeoutNs, metadata);
  }

  /** An answer header block, block[start…end): the answer's headers, its trailers, or both at once. */
  private answerHeaders(id: number, block: Buffer, start: number, end: number, endStream: boolean): void {
    if (!this.observing) {
      this.resDecoder.skim(block, start, end);
      const s = this.streams.get(id);
      if (!s) return;
      if (s.responseHeaders === null && !endStream) s.responseHeaders = NOT_KEPT;
      else this.finish(s, 'trailers', OK_NOT_READ, NOT_KEPT);
      return;
    }
    const s = this.streams.get(id);
    // The status is read from the metadata: it drops only pseudo-headers and hop-by-hop ones.
    const first = s !== undefined && s.responseHeaders === null && !endStream;
    const kind = first ? 1 : 2;
    const last = this.lastAnswer[kind - 1]!;
    const decoder = this.resDecoder;
    let metadata: Header[];
    let httpStatus: string | undefined;
    if (last.matches(block, start, end, decoder.tableChanges)) {
      metadata = last.metadata;
      httpStatus = last.httpStatus;
    } else {
      const changes = decoder.tableChanges;
      const n = decoder.decodeInto(block, this.resBlock, start, end);
      if (!s) return;
      metadata = this.metadataOf(this.resBlock, n, kind);
      httpStatus = this.httpStatus;
      if (decoder.tableChanges === changes && last.remember(block, start, end, changes)) {
        last.metadata = metadata;
        last.httpStatus = httpStatus;
      }
    }
    if (!s) return;
    if (first) {
      s.responseHeaders = metadata;
      s.httpStatus = httpStatus;
      return;
    }
    if (s.responseHeaders === null) {
      // Trailers-only answer (typical of errors): one block holding status and all.
      s.responseHeaders = [];
      this.finish(s, 'trailers', this.statusOf(metadata, httpStatus), metadata);
      return;
    }
    this.finish(s, 'trailers', this.statusOf(metadata, s.httpStatus), metadata);
  }

  /** The last trailers list that said OK (lists are never changed, so the same list says it again). */
  private okTrailers: Header[] | null = null;

  /**
   * statusFromTrailers, but not read again for the very list of trailers that said OK last: a
   * connection's calls share their trailers list (metadataOf, RepeatedBlock). OK comes only from
   * grpc-status 0 with no message, whatever the HTTP status.
   */
  private statusOf(trailers: Header[], httpStatus: string | undefined): CallRecord['status'] {
    if (trailers === this.okTrailers) return OK_STATUS;
    const status = statusFromTrailers(trailers, httpStatus);
    if (status === OK_STATUS) this.okTrailers = trailers;
    return status;
  }

  /** A new call, with what its request headers said (metadata: NOT_KEPT when no sink observes). */
  private begin(id: number, method: string, authority: string | undefined, timeoutNs: number | undefined, metadata: Header[]): void {
    const observing = this.observing;
    const free = this.ended.pop();
    let s: StreamState;
    if (free !== undefined) {
      s = free;
      s.id = id;
      s.method = method;
      s.authority = authority;
      s.startMs = observing ? this.nowMs() : 0;
      s.timeoutNs = timeoutNs;
      s.requestMetadata = metadata;
      s.propagatedTraceparent = this.opts.sentTraceparent?.(id);
    } else {
      s = {
        id,
        method,
        authority,
        startMs: observing ? this.nowMs() : 0,
        timeoutNs,
        requestMetadata: metadata,
        requests: NO_MESSAGES,
        responses: NO_MESSAGES,
        reqAsm: null,
        resAsm: null,
        reqBodies: null,
        resBodies: null,
        httpStatus: undefined,
        responseHeaders: null,
        truncated: false,
        propagatedTraceparent: this.opts.sentTraceparent?.(id),
        fault: undefined,
      };
      if (observing) {
        s.reqBodies = new StreamBodies(this, s, false);
        s.resBodies = new StreamBodies(this, s, true);
        s.reqAsm = this.assembler(s.reqBodies);
        s.resAsm = this.assembler(s.resBodies);
      }
    }
    this.streams.set(s);
    if (id > this.lastStreamId) this.lastStreamId = id;
    if (this.refusedAbove !== undefined && id > this.refusedAbove) {
      this.finishRefusedByCritap(s);
      return;
    }
    if (this.starters.length > 0) {
      const start: CallStart = { method, startNs: this.callStartNs(s.startMs), requestMetadata: metadata, peer: this.peer };
      for (const sink of this.starters) {
        try {
          sink.onCallStart!(start);
        } catch (err) {
          this.opts.onSinkError?.(err);
        }
      }
    }
  }

  /** Reassembles one direction's messages for `bodies` (see StreamBodies). */
  private assembler(bodies: StreamBodies): MessageAssembler {
    return new MessageAssembler(bodies, this.capture, this.opts.captureLimit, this.reserveBodyBound, this.spoolOptions);
  }

  /** How every assembler of this connection spools (one object for all its calls, not two per call). */
  private spoolOptionsOf(spooler: CallSink | undefined, budget: CaptureBudget | undefined): SpoolOptions | undefined {
    if (!spooler) return undefined;
    return {
      spoolFrom: SPOOL_FROM_BYTES,
      partBytes: SPOOL_PART_BYTES,
      reserve: budget ? (n) => this.reservePart(budget, n) : undefined,
      newPart: spooler.newPart ? (n) => spooler.newPart!(n) : undefined,
    };
  }

  /** A whole body is kept only while it fits the budget. */
  private reserveBody(budget: CaptureBudget, bytes: number): boolean {
    if (!budget.take(bytes)) return false;
    budget.heldByOpenCalls += bytes;
    return true;
  }

  /**
   * A piece of a spooled body is kept: past the parts' share of the budget, the connection waits
   * instead. Only when the observers stalled (a wait ran out) is it refused, and that body is
   * recorded truncated, as a whole body past the budget is.
   */
  private reservePart(budget: CaptureBudget, bytes: number): boolean {
    if (budget.stalled) {
      if (!budget.drained) return false;
      budget.stalled = false;
    }
    budget.heldByOpenCalls += bytes;
    if (budget.force(bytes)) this.opts.onBudgetFull?.();
    return true;
  }

  /** The body being spooled will never be finished: the spooling sink may throw its parts away. */
  abortSpool(spool: StreamBodies): void {
    if (spool.spoolId === 0) return;
    const id = spool.spoolId;
    spool.spoolId = 0;
    try {
      this.spooler?.onBodyAbort?.(id);
    } catch (err) {
      this.opts.onSinkError?.(err);
    }
  }

  private finish(s: StreamState, end: CallRecord['end'], status: CallRecord['status'], trailers: Header[]): void {
    this.streams.delete(s.id);
    this.answered = true;
    const reqAsm = s.reqAsm;
    const resAsm = s.resAsm;
    if (reqAsm === null || resAsm === null) {
      this.recycle(s); // no sink: nothing to hand over
      return;
    }
    // A body cut off while being spooled: its parts are of no use.
    if (reqAsm.spoolOpen) this.abortSpool(s.reqBodies!);
    if (resAsm.spoolOpen) this.abortSpool(s.resBodies!);
    // What this call held now leaves it: given back below, or handed to the sinks with the record.
    if (this.opts.budget) this.opts.budget.heldByOpenCalls -= reqAsm.reserved + resAsm.reserved;
    const record: CallRecord = {
      method: s.method,
      startNs: this.callStartNs(s.startMs),
      durationNs: elapsedNs(s, this.nowMs()),
      requests: s.requests === NO_MESSAGES ? [] : s.requests,
      responses: s.responses === NO_MESSAGES ? [] : s.responses,
      status,
      end,
      requestMetadata: s.requestMetadata,
      responseHeaders: s.responseHeaders ?? [],
      responseTrailers: trailers,
      requestBytes: reqAsm.totalBytes,
      responseBytes: resAsm.totalBytes,
      // Every field is given here, unset ones as undefined: the record gets its whole shape at
      // once (fields added afterwards went to out-of-object property storage, one more
      // allocation per call). Sinks read them as optional, so undefined means absent.
      truncated: s.truncated || reqAsm.partial || resAsm.partial ? true : undefined,
      peer: this.peer,
      authority: s.authority,
      propagatedTraceparent: s.propagatedTraceparent,
      fault: s.fault,
    };
    if (this.opts.budget) {
      // Without a releasing sink the bodies leave the budget here (sinks bound their own queues);
      // with one, it gives back the bodies it was handed, and only bytes reserved for a message
      // cut off mid-body (never handed over) come back now.
      const reserved = reqAsm.reserved + resAsm.reserved;
      this.opts.budget.give(this.sinkReleases ? reserved - bodyBytes(record) : reserved);
    }
    this.recycle(s);
    if (this.held !== null) this.held.push(record);
    else this.deliver(record);
  }

  /**
   * An ended call's state (with its assemblers and body sinks) is kept for a later call on this
   * connection: nothing refers to it once its record is built (frames of an ended stream find
   * no state, see `streams`), and making it anew was about a fifth of what observing allocated
   * per call. At most MAX_ENDED are kept: a connection rarely has more calls open at once.
   * Without sinks only the state itself is kept (no assemblers): the bare proxy makes none per call.
   */
  private recycle(s: StreamState): void {
    if (this.ended.length >= MAX_ENDED) return;
    s.requests = NO_MESSAGES;
    s.responses = NO_MESSAGES;
    s.requestMetadata = NOT_KEPT;
    s.responseHeaders = null;
    s.httpStatus = undefined;
    s.truncated = false;
    s.fault = undefined;
    s.propagatedTraceparent = undefined;
    if (s.reqAsm !== null) {
      s.reqAsm.reset();
      s.resAsm!.reset();
      s.reqBodies!.spoolId = 0;
      s.resBodies!.spoolId = 0;
    }
    this.ended.push(s);
  }

  /**
   * The first `n` headers of `block` less pseudo-headers and hop-by-hop ones, in a list of their
   * own; `:status` goes to this.httpStatus. The kept headers are moved to the front of `block`
   * and copied out with slice (an array just their size), and the block's slots are cleared so
   * that it holds no header past its call.
   *
   * A connection's calls mostly carry the very same pairs (HPACK hands out its table's own): when
   * the kept headers are those of the last list of their `kind` (request metadata, answer
   * headers, trailers), that list is returned again. Header lists are never changed in place
   * (whoever redacts copies; see observe/transfer.ts), so calls may share one.
   */
  private metadataOf(block: Header[], n: number, kind: number): Header[] {
    let kept = 0;
    let httpStatus: string | undefined;
    for (let i = 0; i < n; i++) {
      const h = block[i]!;
      const name = h[0];
      if (name.charCodeAt(0) === 58 /* ':' */) {
        if (name === ':status') httpStatus = h[1];
        continue;
      }
      if (!isHopByHop(name)) block[kept++] = h;
    }
    this.httpStatus = httpStatus;
    let metadata = this.lastKept[kind]!;
    if (metadata.length === kept) {
      for (let i = 0; i < kept; i++) {
        if (metadata[i] !== block[i]) {
          metadata = block.slice(0, kept);
          this.lastKept[kind] = metadata;
          break;
        }
      }
    } else {
      metadata = block.slice(0, kept);
      this.lastKept[kind] = metadata;
    }
    for (let i = 0; i < n; i++) block[i] = CLEARED;
    return metadata;
  }

  private deliver(record: CallRecord): void {
    // A held record was built before the peer lookup settled.
    if (record.peer !== this.peer) record.peer = this.peer;
    for (const sink of this.opts.sinks) {
      try {
        sink.onCallEnd(record);
      } catch (err) {
        this.opts.onSinkError?.(err);
      }
    }
  }
}

/** Longer header blocks are not remembered: a repeated block is a few indexes, an octet each. */
const MAX_REPEATED_BLOCK = 64;

/**
 * One kind of header block as last read on a connection (request headers, answer headers,
 * trailers): its bytes and what the tap made of them. Once the client's and the runtime's
 * encoders hold a call's headers in their tables, a call's blocks are a handful of indexes, the
 * same octets call after call. The same octets read against an unchanged table are the same
 * headers, so the tap takes the ones made last time rather than decoding and filtering
 * (metadataOf) again. A block that changed the table is not remembered: it would not read the
 * same a second time.
 */
class RepeatedBlock {
  private readonly bytes = Buffer.alloc(MAX_REPEATED_BLOCK);
  /** -1: nothing remembered. */
  private length = -1;
  /** HpackDecoder.tableChanges before and after the block was read. */
  private tableChanges = -1;
  metadata: Header[] = NOT_KEPT;
  httpStatus: string | undefined;
  method = '';
  authority: string | undefined;
  timeoutNs: number | undefined;

  /** block[start…end) is the remembered block, and the table is as it was read with. */
  matches(block: Buffer, start: number, end: number, tableChanges: number): boolean {
    const length = end - start;
    if (length !== this.length || tableChanges !== this.tableChanges) return false;
    const bytes = this.bytes;
    for (let i = 0; i < length; i++) if (bytes[i] !== block[start + i]) return false;
    return true;
  }

  /** Remembers block[start…end), read at `tableChanges` without changing the table; false when too long. */
  remember(block: Buffer, start: number, end: number, tableChanges: number): boolean {
    const length = end - start;
    if (length > MAX_REPEATED_BLOCK) {
      this.length = -1;
      return false;
    }
    copyBytes(block, start, this.bytes, 0, length);
    this.length = length;
    this.tableChanges = tableChanges;
    return true;
  }
}

/** The lookup's answer, or undefined once `ms` passed (a lookup that fails is an unknown peer). */
function withinLimit(lookup: Promise<Peer | undefined>, ms: number): Promise<Peer | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    lookup.then(
      (p) => {
        clearTimeout(timer);
        resolve(p);
      },
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
    );
  });
}

/**
 * Where one direction of a call puts its messages (the MessageAssembler's sink): its list on the
 * stream (`requests` or `responses`), or with
 * a spooling sink, large bodies go to it in parts as they arrive (`spoolId` names the one being
 * read) and only a reference to them is kept. A body not kept marks the call truncated.
 */
class StreamBodies implements MessageSink {
  /** Id of the body being spooled, 0 when none. */
  spoolId = 0;

  constructor(
    private readonly tap: ConnectionTap,
    private readonly s: StreamState,
    private readonly responses: boolean,
  ) {}

  /**
   * A call's first message starts its list at one entry: an empty array grown by push makes
   * room for 16, and a CRI call has one message each way (two such lists were about a tenth of
   * what observing allocated per call).
   */
  private add(m: TimedMessage): void {
    const s = this.s;
    const list = this.responses ? s.responses : s.requests;
    if (list !== NO_MESSAGES) list.push(m);
    else if (this.responses) s.responses = [m];
    else s.requests = [m];
  }

  message(body: Buffer | null, _length: number, compressed: boolean): void {
    if (body === null) this.s.truncated ||= this.tap.capture;
    else this.add(timed(this.tap, this.s, body, compressed));
  }

  part(data: Buffer): void {
    const tap = this.tap;
    const budget = tap.opts.budget;
    if (this.spoolId === 0) this.spoolId = nextSpoolId++;
    if (budget) budget.heldByOpenCalls -= data.length;
    try {
      tap.spooler!.onBodyPart!(this.spoolId, data);
    } catch (err) {
      tap.opts.onSinkError?.(err);
    }
    // A sink that does not release the budget itself is done with the part by now.
    if (budget && !tap.sinkReleases) budget.give(data.length);
  }

  spooled(length: number, compressed: boolean): void {
    const m = timed(this.tap, this.s, EMPTY, compressed);
    m.spooled = { id: this.spoolId, length };
    this.spoolId = 0;
    this.add(m);
  }

  abort(): void {
    this.tap.abortSpool(this);
  }
}

function timed(tap: ConnectionTap, s: StreamState, data: Buffer, compressed: boolean): TimedMessage {
  const m: TimedMessage = { offsetNs: elapsedNs(s, tap.nowMs()), data };
  if (compressed) m.compressed = true;
  return m;
}

/**
 * Whole nanoseconds from the call's start to `nowMs`. performance.now() reads the same monotonic
 * clock as hrtime; as a double of milliseconds it stays finer than a nanosecond for months of uptime.
 */
function elapsedNs(s: StreamState, nowMs: number): number {
  return Math.round((nowMs - s.startMs) * 1e6);
}
