/**
 * `critap proxy` as a library: listen where the kubelet connects, pair each client connection
 * with a runtime connection, and let sinks observe every call.
 */
import net from 'node:net';
import type { CallSink, Peer } from '../call.js';
import { formatEndpoint, parseEndpoint, type Endpoint } from '../endpoint.js';
import { silentLogger, type Logger } from '../log.js';
import type { TracePropagation } from '../telemetry/propagation.js';
import { CaptureBudget, captureBudgetLimit, DEFAULT_CAPTURE_LIMIT } from './capture-budget.js';
import { ProxiedConnection, READ_BUFFER_BYTES } from './connection.js';
import { ClientReadAcceptor } from './accept-reads.js';
import { boundEndpoint, listen, removeSocket } from './listener.js';
import { lookupUnixPeer, type PeerLookup } from './peer.js';
import { FaultSet } from '../fault/set.js';
import { FaultIds } from '../fault/call-ids.js';
import type { ProxyFaults } from './fault-calls.js';

export { DEFAULT_CAPTURE_BUDGET, DEFAULT_CAPTURE_LIMIT } from './capture-budget.js';

export interface ProxyOptions {
  /** Where clients connect: `unix:///run/critap/critap.sock`, `/path.sock` or `tcp://127.0.0.1:0`. */
  listen: string | Endpoint;
  /** The real runtime: `unix:///run/containerd/containerd.sock`. */
  upstream: string | Endpoint;
  sinks?: CallSink[];
  /** File mode of a unix socket (default 0o660). */
  socketMode?: number;
  /**
   * Largest message body handed to sinks (default 16 MiB, the kubelet's own message limit);
   * larger bodies are forwarded whole and counted, not kept.
   */
  captureLimit?: number;
  /**
   * Bodies held for sinks at once, over all calls (default 32 MiB, raised to captureLimit if
   * smaller). Bodies beyond it are forwarded but not kept, so memory stays bounded under load.
   * A CaptureBudget is used as it is: startObservedProxy shares one with its observer thread.
   */
  captureBudget?: number | CaptureBudget;
  /** Find the client's pid/executable for unix sockets (default true). */
  peerLookup?: boolean;
  logger?: Logger;
  /**
   * Send the runtime critap's own span as each request's traceparent (header blocks are
   * rewritten; see src/telemetry/propagation.ts). Default: none, every byte passes unchanged.
   */
  propagation?: TracePropagation;
  /**
   * Fault rules (`method=RunPodSandbox,error=UNAVAILABLE`; see src/fault/rule.ts), or a live
   * FaultSet. Given at all (even empty), each connection re-encodes request header blocks so
   * rules added later apply to connections already open; absent, forwarding is a byte pipe.
   */
  faults?: readonly string[] | FaultSet;
}

export interface ProxyStats {
  connections: number;
  openCalls: number;
  acceptedConnections: number;
  /** Message bodies forwarded but not kept for observers because the capture budget was full. */
  bodiesNotCaptured: number;
  /** Bytes of the capture budget in use: bodies being captured, or not yet done with by the observers. */
  captureBytesHeld: number;
}

export interface RunningProxy {
  /** The endpoint clients should use (a tcp port 0 resolved to the real port). */
  readonly endpoint: string;
  readonly upstream: string;
  stats(): ProxyStats;
  /** The live fault rules, when started with `faults`. */
  readonly faults: FaultSet | undefined;
  /**
   * Stop accepting, let in-flight calls finish for up to `graceMs`, then close every connection
   * and remove the socket file. Sinks are closed (flushed) last.
   */
  close(graceMs?: number): Promise<void>;
}

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const listenAt = typeof opts.listen === 'string' ? parseEndpoint(opts.listen) : opts.listen;
  const upstream = typeof opts.upstream === 'string' ? parseEndpoint(opts.upstream) : opts.upstream;
  const logger = opts.logger ?? silentLogger;
  const sinks = opts.sinks ?? [];
  const connections = new Set<ProxiedConnection>();
  /** Taps still holding finished calls for their peer lookup: the sinks close only after these. */
  const holding = new Set<Promise<void>>();
  let accepted = 0;
  let sinkErrors = 0;
  let lastSinkErrorLog = 0;

  const captureLimit = opts.captureLimit ?? DEFAULT_CAPTURE_LIMIT;
  const budget = opts.captureBudget instanceof CaptureBudget ? opts.captureBudget : new CaptureBudget(captureBudgetLimit(opts.captureBudget, captureLimit));
  // A sink that gives the budget back itself may also take the bodies' memory (the observer
  // thread moves large bodies to its own thread): no other sink may be looking at them.
  if (sinks.some((s) => s.releasesBudget) && sinks.length > 1) {
    throw new Error('critap: a sink that releases the capture budget itself must be the proxy\'s only sink');
  }
  const faultSet = opts.faults === undefined ? undefined : opts.faults instanceof FaultSet ? opts.faults : new FaultSet(opts.faults);
  // The fault side channel is a grpc-js client: loaded only with fault rules, so a plain proxy's
  // forwarding thread never holds grpc-js.
  const faults: ProxyFaults | undefined = faultSet && {
    set: faultSet,
    ids: new FaultIds(),
    side: new (await import('../replay/fallback.js')).Fallback(formatEndpoint(upstream)),
    logger,
  };
  const ctx = {
    upstream,
    faults,
    sinks,
    captureLimit,
    budget,
    logger,
    propagation: opts.propagation,
    onSinkError(err: unknown) {
      sinkErrors++;
      const now = Date.now();
      if (now - lastSinkErrorLog > 10_000) {
        lastSinkErrorLog = now;
        logger.error('an observer failed (forwarding continues)', { error: err instanceof Error ? err.message : String(err), total: sinkErrors });
      }
    },
    // Only calls handed to sinks are named by their client: without sinks there is no one to ask for.
    lookupPeer:
      opts.peerLookup !== false && listenAt.kind === 'unix' && sinks.length > 0
        ? (s: net.Socket): PeerLookup => lookupUnixPeer(s)
        : undefined,
  };

  // Client sockets read into a buffer of critap's own where this Node allows (accept-reads.ts).
  const clientReads = new ClientReadAcceptor(READ_BUFFER_BYTES);
  const server = net.createServer({ pauseOnConnect: false }, (client) => {
    accepted++;
    const conn = new ProxiedConnection(client, ctx, clientReads.slotOf(client));
    connections.add(conn);
    const settled = conn.tap.settled;
    holding.add(settled);
    void settled.then(() => holding.delete(settled));
    void conn.done.then(() => connections.delete(conn));
  });
  server.on('error', (err) => logger.error('listener error', { error: err.message }));
  // 'listening' comes before the event loop can accept anyone.
  server.once('listening', () => {
    if (!clientReads.install(server)) logger.debug('client sockets read through Node\'s streams (accept-reads.ts found an unexpected net.Server)');
  });
  await listen(server, listenAt, opts.socketMode ?? 0o660);
  const bound = boundEndpoint(server, listenAt);

  let closing: Promise<void> | undefined;
  const openCalls = () => {
    let n = 0;
    for (const c of connections) n += c.tap.openCalls;
    return n;
  };

  return {
    endpoint: formatEndpoint(bound),
    upstream: formatEndpoint(upstream),
    faults: faultSet,
    stats: () => ({ connections: connections.size, openCalls: openCalls(), acceptedConnections: accepted, bodiesNotCaptured: budget.refused, captureBytesHeld: budget.inUse }),
    close(graceMs = 10_000) {
      closing ??= (async () => {
        // server.close() only stops accepting; its callback waits for every connection to end.
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        const deadline = Date.now() + graceMs;
        while (openCalls() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        const left = openCalls();
        if (left > 0) logger.warn('grace period over; closing connections with calls in flight', { calls: left });
        for (const c of connections) c.destroy();
        await serverClosed;
        await removeSocket(bound);
        faults?.side.close();
        await Promise.all([...holding]);
        for (const sink of sinks) {
          try {
            await sink.close?.();
          } catch (err) {
            logger.error('closing an observer failed', { error: err instanceof Error ? err.message : String(err) });
          }
        }
      })();
      return closing;
    },
  };
}
