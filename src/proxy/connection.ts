/**
 * One client connection paired with one runtime connection. Bytes go straight through in both
 * directions (flow control, SETTINGS, PING and GOAWAY stay end to end); a ConnectionTap sees a
 * copy of every chunk after it has been handed to the other socket.
 *
 * The one exception is `--propagate-trace`: then the client's header blocks are rewritten on
 * their way to the runtime (src/wire/header-rewriter.ts) to carry critap's own span as the
 * traceparent. Every other frame still passes byte for byte, and the tap still reads the
 * client's original bytes, so recordings keep what the client sent.
 */
import net from 'node:net';
import type { CallSink, Header, Peer } from '../call.js';
import { formatEndpoint, netOptions, type Endpoint } from '../endpoint.js';
import type { Logger } from '../log.js';
import type { TracePropagation } from '../telemetry/propagation.js';
import { goawayFrame, grpcErrorFrames } from '../wire/frame-writer.js';
import { HeaderRewriter } from '../wire/header-rewriter.js';
import { MAX_BUDGET_WAIT_MS, type CaptureBudget } from './capture-budget.js';
import type { PeerLookup } from './peer.js';
import { ConnectionTap } from './tap.js';
import { answerUnavailable } from './unavailable.js';
import type { ClientReadSlot } from './accept-reads.js';
import { ConnectionFaults, type ProxyFaults } from './fault-calls.js';

/** A connection without an answer by then asks for its peer anyway (a stream that waits long). */
const PEER_ASK_AT_LATEST_MS = 20;

/** Each socket's bytes are read into a buffer of this size, used again while no write holds on to it. */
export const READ_BUFFER_BYTES = 64 * 1024;

/** Rewritten pieces of one chunk up to this size are joined into one buffer before writing. */
const COALESCE_LIMIT = 64 * 1024;
/** While waiting for the capture budget to drain, how often to look (the observer thread gives bytes back without a message). */
const BUDGET_POLL_MS = 1;

export interface ConnectionContext {
  upstream: Endpoint;
  sinks: readonly CallSink[];
  captureLimit: number;
  budget?: CaptureBudget;
  logger: Logger;
  onSinkError(err: unknown): void;
  /** The client's pid/exe, looked up from accept; the tap holds finished calls until it answers. */
  lookupPeer?(client: net.Socket): PeerLookup;
  /** Replace each request's traceparent with critap's span (`--propagate-trace`). */
  propagation?: TracePropagation;
  /**
   * Fault injection (`--fault`, `--admin`): request header blocks are then re-encoded, as with
   * propagation, so that calls critap answers itself can be left out. Absent: a byte pipe.
   */
  faults?: ProxyFaults;
}

export class ProxiedConnection {
  readonly tap: ConnectionTap;
  private readonly upstream: net.Socket;
  private connected = false;
  /** The client's bytes while the runtime connection is being made (critap answers them itself if it fails). */
  private pending: Buffer[] | null = [];
  /** With propagation: what to send the runtime once connected (the rewritten `pending`). */
  private pendingOut: Buffer[] = [];
  private readonly rewriter: HeaderRewriter | null = null;
  private readonly faults: ConnectionFaults | null = null;
  /** critap's own frames for the client, waiting for the runtime's bytes to reach a frame boundary. */
  private ownFrames: Buffer[] = [];
  private upstreamSpoke = false;
  /** Traceparents sent to the runtime, by stream, until the tap takes them into the call's record. */
  private readonly sentTraceparents = new Map<number, string>();
  private lastRequestStream = 0;
  private closed = false;
  /** The runtime could not be reached; critap answers this client itself. */
  private answeringUnavailable = false;
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  /** Asks for the client's pid once the first answer is forwarded (see peer.ts); then cleared. */
  private askPeer: (() => void) | undefined;
  private askPeerTimer: NodeJS.Timeout | undefined;
  /** While critap answers UNAVAILABLE itself: its reader of the client's frames. */
  private unavailableFeed: ((chunk: Buffer) => void) | null = null;

  /**
   * @param clientReads where the client's socket reads into, when it was accepted with a buffer
   * of critap's own (accept-reads.ts); without it the client's bytes come as 'data' events.
   */
  constructor(
    private readonly client: net.Socket,
    private readonly ctx: ConnectionContext,
    private readonly clientReads?: ClientReadSlot,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    const peer: Peer | undefined = client.remoteAddress ? { address: `${client.remoteAddress}:${client.remotePort}` } : undefined;
    if (ctx.faults) {
      this.faults = new ConnectionFaults(ctx.faults, (frames) => this.writeOwn(frames), (id, fault) => this.tap.markInjected(id, fault));
      this.rewriter = new HeaderRewriter(this.editWithFaults, { preface: true, divert: this.faults });
    } else if (ctx.propagation) {
      this.rewriter = new HeaderRewriter(this.editRequestHeaders, { preface: true });
    }
    const lookup = ctx.lookupPeer?.(client);
    if (lookup) {
      this.askPeer = lookup.ask;
      this.askPeerTimer = setTimeout(() => this.peerNow(), PEER_ASK_AT_LATEST_MS).unref();
    }
    this.tap = new ConnectionTap({
      sinks: ctx.sinks,
      captureLimit: ctx.captureLimit,
      budget: ctx.budget,
      peer,
      peerLookup: lookup?.peer,
      onSinkError: ctx.onSinkError,
      onBudgetFull: this.waitForBudget,
      ...(this.rewriter && {
        sentTraceparent: (id: number) => this.takeTraceparent(id),
        onRuntimeHeaderTableSize: (n: number) => this.rewriter!.setPeerHeaderTableSize(n),
      }),
    });

    // The runtime's bytes are read into our own buffer (onread) rather than a new one per read
    // handed through the socket's Readable stream: about 0.5 µs a call less at 64 calls in
    // flight, measured against a plain pipe. The buffer is used again for the next read unless
    // the write to the client still holds on to it (see onUpstreamRead).
    const onread: net.OnReadOpts = { buffer: () => this.readBuffer, callback: (n, buf) => this.onUpstreamRead(n, buf as Buffer) };
    const target = netOptions(ctx.upstream);
    this.upstream = net.connect({ ...target, onread } as net.NetConnectOpts);
    if (ctx.upstream.kind === 'tcp') this.upstream.setNoDelay(true);
    if (client.remoteAddress) client.setNoDelay(true);

    // The client's bytes too go into our own buffer when the listener accepted it that way.
    if (clientReads) clientReads.handler = this.onClientRead;
    else client.on('data', this.onClientData);
    this.upstream.once('connect', this.onUpstreamConnect);
    this.upstream.on('error', this.onUpstreamError);
    client.on('error', (err) => this.ctx.logger.debug('client connection error', { error: err.message }));
    client.on('close', () => this.onClientClose());
    this.upstream.on('close', () => this.onUpstreamClose());
    // Back-pressure both ways: a slow reader pauses the writer, nothing piles up in memory.
    client.on('drain', () => {
      if (this.budgetWait === undefined) this.upstream.resume();
    });
    this.upstream.on('drain', () => {
      if (this.budgetWait === undefined) client.resume();
    });
  }

  /** Set while reading waits for the observers to catch up with spooled bodies. */
  private budgetWait: NodeJS.Timeout | undefined;

  /**
   * Parts of large bodies filled the capture budget: the observers (the recorder writing body
   * files) are behind. Reading stops on both sockets until they have caught up, so no body is
   * recorded short and memory stays bounded; forwarding waits only while that lasts.
   */
  private readonly waitForBudget = (): void => {
    const budget = this.ctx.budget;
    if (this.budgetWait !== undefined || this.closed || !budget) return;
    this.upstream.pause();
    this.client.pause();
    const until = Date.now() + MAX_BUDGET_WAIT_MS;
    const check = (): void => {
      if (!this.closed && !budget.drained && !budget.stalled) {
        if (Date.now() >= until) {
          // The observers are stuck: forwarding must not be. Parts are refused until they drain.
          budget.stalled = true;
          this.ctx.logger.warn('observers fell behind: large bodies are recorded truncated until they catch up', { waitedMs: MAX_BUDGET_WAIT_MS });
        } else {
          this.budgetWait = setTimeout(check, BUDGET_POLL_MS);
          return;
        }
      }
      this.budgetWait = undefined;
      // Each socket resumes unless the other side still has its own back-pressure on it.
      if (!this.client.writableNeedDrain) this.upstream.resume();
      if (!this.upstream.writableNeedDrain) this.client.resume();
    };
    this.budgetWait = setTimeout(check, BUDGET_POLL_MS);
  };

  /** A read into the client's slot: a view of a buffer that is read into again after this returns. */
  private readonly onClientRead = (view: Buffer): void => {
    // What is kept past this call gets its own copy: bytes waiting for the runtime connection,
    // pieces the rewriter holds, what critap's own UNAVAILABLE answer reads.
    if (this.rewriter !== null || this.pending !== null || this.unavailableFeed !== null) {
      this.onClientData(Buffer.from(view));
      return;
    }
    this.onClientData(view);
    // A write the kernel did not take whole holds on to the view: the next read needs a new buffer.
    if (this.upstream.writableLength > 0) this.clientReads!.buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  };

  private readonly onClientData = (chunk: Buffer): void => {
    if (this.unavailableFeed !== null) {
      // The tap reads the request before critap's answer to it.
      this.observeClientOnly(chunk);
      this.unavailableFeed(chunk);
      return;
    }
    if (this.rewriter !== null) {
      this.forwardRewritten(chunk);
    } else if (this.pending !== null) {
      this.pending.push(chunk);
    } else if (!this.upstream.write(chunk) && !this.upstream.destroyed) {
      // Back-pressure. Not once the runtime's socket is gone: it would never drain, and the
      // client must be read up to its EOF for its socket to close.
      this.client.pause();
    }
    try {
      this.tap.readClient(chunk);
    } catch (err) {
      this.protocolError('client', err);
    }
  };

  private forwardRewritten(chunk: Buffer): void {
    let out: Buffer[];
    try {
      out = this.rewriter!.push(chunk);
    } catch (err) {
      // Nothing of a stream critap cannot parse may reach the runtime half-rewritten.
      this.protocolError('client', err);
      return;
    }
    if (this.pending !== null) {
      this.pending.push(chunk);
      for (const b of out) this.pendingOut.push(b);
      return;
    }
    if (out.length === 0) return;
    let full: boolean;
    if (out.length === 1) {
      full = !this.upstream.write(out[0]!);
    } else {
      // The pieces of one chunk go out in one write: small ones copied together (cheaper than a
      // writev of several buffers), large DATA runs corked into one writev rather than copied.
      let total = 0;
      for (const b of out) total += b.length;
      if (total <= COALESCE_LIMIT) {
        full = !this.upstream.write(Buffer.concat(out, total));
      } else {
        full = false;
        this.upstream.cork();
        for (const b of out) full = !this.upstream.write(b) || full;
        this.upstream.uncork();
      }
    }
    if (full) this.client.pause();
  }

  /** The rewriter's edit: a new request gets critap's traceparent in place of the client's. */
  private readonly editRequestHeaders = (streamId: number, headers: Header[]): Header[] => {
    // Client stream ids only grow (RFC 9113 §5.1.1); a block on an older stream is trailers.
    if (streamId <= this.lastRequestStream) return headers;
    this.lastRequestStream = streamId;
    let method = '';
    for (const h of headers) if (h[0] === ':path') method = h[1];
    const traceparent = this.ctx.propagation!.traceparentFor(method, headers);
    this.sentTraceparents.set(streamId, traceparent);
    const out: Header[] = [];
    let placed = false;
    for (const h of headers) {
      if (h[0] !== 'traceparent') out.push(h);
      else if (!placed) {
        out.push(['traceparent', traceparent]);
        placed = true;
      }
    }
    if (!placed) out.push(['traceparent', traceparent]);
    return out;
  };

  /** With faults: a new call some rule may match is kept from the runtime; the rest as without. */
  private readonly editWithFaults = (streamId: number, headers: Header[], endStream: boolean): Header[] | null => {
    const faults = this.faults!;
    if (streamId <= this.lastRequestStream) return faults.dropsBlock(streamId) ? null : headers;
    let path = '';
    for (const h of headers) if (h[0] === ':path') path = h[1];
    if (faults.take(streamId, path, headers, endStream)) {
      this.lastRequestStream = streamId;
      return null;
    }
    if (this.ctx.propagation) return this.editRequestHeaders(streamId, headers);
    this.lastRequestStream = streamId;
    return headers;
  };

  /**
   * critap's own answer frames: written (and shown to the tap, which records them like the
   * runtime's) only between the runtime's frames, never inside one.
   */
  private writeOwn(frames: Buffer[]): void {
    if (this.closed || this.client.destroyed) return;
    // Nothing of critap's may precede the runtime's SETTINGS, the server's connection preface.
    if (this.ownFrames.length > 0 || !this.upstreamSpoke || !this.tap.serverReader.atFrameBoundary) {
      this.ownFrames.push(...frames);
      return;
    }
    for (const f of frames) {
      this.client.write(f);
      this.observeOwnAnswer(f);
    }
  }

  private flushOwn(): void {
    if (this.ownFrames.length === 0 || !this.tap.serverReader.atFrameBoundary) return;
    const frames = this.ownFrames;
    this.ownFrames = [];
    this.writeOwn(frames);
  }

  private peerNow(): void {
    const ask = this.askPeer;
    this.askPeer = undefined;
    clearTimeout(this.askPeerTimer);
    ask?.();
  }

  private takeTraceparent(streamId: number): string | undefined {
    const v = this.sentTraceparents.get(streamId);
    if (v !== undefined) this.sentTraceparents.delete(streamId);
    return v;
  }

  private readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

  /** Returns true: pausing is the socket's pause(), as with the client's side. */
  private onUpstreamRead(n: number, buf: Buffer): boolean {
    this.onUpstreamData(buf.subarray(0, n));
    return true;
  }

  private onUpstreamData(chunk: Buffer): void {
    this.upstreamSpoke = true;
    const more = this.client.write(chunk);
    // A write the kernel did not take whole holds on to the chunk until it is done: the next
    // read goes into a new buffer. (Nothing else keeps the chunk: the tap copies what it keeps.)
    if (this.client.writableLength > 0) this.readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    if (!more) this.upstream.pause();
    try {
      this.tap.readServer(chunk);
    } catch (err) {
      this.protocolError('runtime', err);
    }
    if (this.ownFrames.length > 0) this.flushOwn();
    // The first call's whole answer is on its way to the client: the lookup cannot delay it now,
    // and the client cannot have closed before reading it, so our end is open for this turn.
    if (this.askPeer && this.tap.answered) this.peerNow();
  }

  private readonly onUpstreamConnect = (): void => {
    this.connected = true;
    const pending = this.rewriter !== null ? this.pendingOut : this.pending!;
    this.pending = null;
    this.pendingOut = [];
    if (pending.length > 0) {
      this.upstream.cork();
      for (const c of pending) this.upstream.write(c);
      this.upstream.uncork();
    }
  };

  private readonly onUpstreamError = (err: NodeJS.ErrnoException): void => {
    const upstreamName = formatEndpoint(this.ctx.upstream);
    if (!this.connected && this.pending !== null) {
      // The runtime is down or restarting: answer this client ourselves with UNAVAILABLE.
      const message = `critap: runtime ${upstreamName} is unavailable: ${err.code ?? err.message}`;
      this.ctx.logger.warn('runtime unavailable', { upstream: upstreamName, error: err.code ?? err.message });
      const pending = this.pending;
      this.pending = null;
      this.pendingOut = [];
      this.answeringUnavailable = true;
      // The calls critap answers itself are still calls: the tap keeps reading the client (it has
      // seen `pending` already) and reads critap's answers as if the runtime wrote them, so each
      // is observed with its method and UNAVAILABLE however the connect error and the client's
      // bytes race. Calls left unanswered end when the client connection closes.
      this.unavailableFeed = answerUnavailable(
        this.client,
        pending,
        message,
        (e) => this.ctx.logger.warn('bad input from client', { error: errMsg(e) }),
        (written) => this.observeOwnAnswer(written),
      );
      return;
    }
    this.ctx.logger.warn('runtime connection error', { upstream: upstreamName, error: err.code ?? err.message });
  };

  private readonly observeClientOnly = (chunk: Buffer): void => {
    try {
      this.tap.readClient(chunk);
    } catch (err) {
      this.protocolError('client', err);
    }
  };

  private observeOwnAnswer(written: Buffer): void {
    try {
      this.tap.readServer(written);
    } catch (err) {
      this.ctx.logger.error('critap could not read its own answer frames', { error: errMsg(err) });
    }
  }

  private protocolError(side: 'client' | 'runtime', err: unknown): void {
    this.ctx.logger.warn(`closing connection: bad HTTP/2 from the ${side}`, {
      upstream: formatEndpoint(this.ctx.upstream),
      error: errMsg(err),
    });
    this.tap.closeAll(`critap: connection closed after bad HTTP/2 from the ${side}: ${errMsg(err)}`);
    this.client.destroy();
    this.upstream.destroy();
  }

  private onClientClose(): void {
    this.upstream.destroy();
    this.finish('the client closed the connection');
  }

  private onUpstreamClose(): void {
    if (this.answeringUnavailable) return; // answerUnavailable owns the client now
    const upstreamName = formatEndpoint(this.ctx.upstream);
    if (!this.client.destroyed && this.tap.serverReader.atFrameBoundary) {
      if (this.tap.openCalls > 0) {
        // The runtime went away mid-call: tell the client in gRPC terms which endpoint failed.
        const message = `critap: runtime ${upstreamName} closed the connection during the call`;
        const open = this.tap.openStreamIds();
        this.ctx.logger.warn('runtime closed the connection with calls in flight', {
          upstream: upstreamName,
          methods: open.map((s) => s.method),
        });
        for (const { id, headersSent } of open) {
          for (const f of grpcErrorFrames(id, 14, message, headersSent)) this.client.write(f);
        }
      }
      // GOAWAY naming the last stream critap saw: one the client sent meanwhile is refused, so
      // the client retries it on a new connection (and the tap records it as refused).
      const last = this.tap.lastStreamId;
      this.client.write(goawayFrame(last));
      this.tap.refuseAbove(last);
    }
    this.client.end();
    // Reading goes on (back-pressure may have paused it) until the client's EOF closes its socket.
    this.client.resume();
    this.finish(`critap: runtime ${upstreamName} closed the connection`);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.faults?.closeAll();
    this.tap.closeAll(reason);
    this.resolveDone();
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
  }
}

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
