/**
 * Shared pieces of the proxy integration tests: a fake runtime behind a library proxy with a
 * collecting sink, a byte-recording relay to compare what crossed each hop, and a `critap proxy`
 * child process for the process-level tests (signals, RSS, socket ownership).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { CallRecord, CallSink } from '../../src/call.js';
import { startProxy, type ProxyOptions, type RunningProxy } from '../../src/proxy/proxy.js';
import { rawClient, startFakeUpstream, tempSocketPath, type FakeUpstream, type FakeUpstreamOptions } from '../support/fake-upstream.js';
import { repoRoot } from '../support/paths.js';

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Rejects when `p` has not settled in `ms`: a guard against hangs, not a speed check. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A sink that keeps every record and lets a test wait until the proxy has reported n calls. */
export class CallCollector implements CallSink {
  readonly needsBodies: boolean;
  readonly calls: CallRecord[] = [];
  readonly started: string[] = [];
  private waiters: Array<() => void> = [];

  constructor(needsBodies = true) {
    this.needsBodies = needsBodies;
  }

  onCallStart(call: { method: string }): void {
    this.started.push(call.method);
  }

  onCallEnd(call: CallRecord): void {
    this.calls.push(call);
    for (const w of this.waiters.splice(0)) w();
  }

  /** The calls recorded so far once there are at least n (the proxy may see an end a moment after the client). */
  async waitFor(n: number, ms = 5000): Promise<CallRecord[]> {
    const reached = async () => {
      while (this.calls.length < n) await new Promise<void>((r) => this.waiters.push(r));
      return this.calls;
    };
    return within(reached(), ms, `waiting for ${n} recorded calls (have ${this.calls.length})`);
  }

  only(method: string): CallRecord {
    const matches = this.calls.filter((c) => c.method === method);
    if (matches.length !== 1) throw new Error(`expected one recorded call of ${method}, found ${matches.length}`);
    return matches[0]!;
  }
}

export interface Setup {
  up: FakeUpstream;
  proxy: RunningProxy;
  sink: CallCollector;
  /** A raw-bytes grpc-js client to the proxy (closed by close()). */
  client(options?: grpc.ClientOptions): grpc.Client;
  close(): Promise<void>;
}

/** Something with `after`, like node:test's TestContext: cleanup that runs even when the test fails. */
export interface Cleanup {
  after(fn: () => unknown): void;
}

/** Fake runtime + library proxy in front of it + collecting sink, torn down after the test. */
export async function startSetup(
  t: Cleanup,
  upstreamOpts: FakeUpstreamOptions,
  proxyOpts: Partial<ProxyOptions> = {},
): Promise<Setup> {
  const up = await startFakeUpstream(upstreamOpts);
  const sink = new CallCollector();
  const proxy = await startProxy({
    listen: tempSocketPath('proxy'),
    upstream: up.endpoint,
    sinks: [sink],
    peerLookup: false,
    ...proxyOpts,
  });
  const clients: grpc.Client[] = [];
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const c of clients) c.close();
      await proxy.close(200);
      await up.close();
    })());
  t.after(close);
  return {
    up,
    proxy,
    sink,
    client(options) {
      const c = rawClient(proxy.endpoint, options);
      clients.push(c);
      return c;
    },
    close,
  };
}

/** One connection's bytes as seen by a relay, in each direction. */
export interface RelayedConnection {
  toServer: Buffer[];
  toClient: Buffer[];
  /** Resolves when both sockets of this connection are closed. */
  closed: Promise<void>;
}

/**
 * A plain byte relay between a listening socket and a target socket that records every byte
 * in both directions, so tests can compare what crossed one hop with what crossed the next.
 */
export class ByteRelay {
  readonly connections: RelayedConnection[] = [];
  readonly path: string;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(path: string, target: string) {
    this.path = path;
    this.server = net.createServer((client) => {
      const server = net.connect({ path: target });
      const conn: RelayedConnection = {
        toServer: [],
        toClient: [],
        closed: Promise.all([closed(client), closed(server)]).then(() => {}),
      };
      this.connections.push(conn);
      this.sockets.add(client).add(server);
      client.on('data', (b) => {
        conn.toServer.push(Buffer.from(b));
        server.write(b);
      });
      server.on('data', (b) => {
        conn.toClient.push(Buffer.from(b));
        client.write(b);
      });
      client.on('end', () => server.end());
      server.on('end', () => client.end());
      for (const s of [client, server]) {
        s.on('error', () => {});
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          server.destroy();
        });
      }
    });
  }

  static async start(target: string, path = tempSocketPath('relay')): Promise<ByteRelay> {
    const relay = new ByteRelay(path, target);
    await new Promise<void>((resolve) => relay.server.listen({ path }, resolve));
    return relay;
  }

  bytes(i: number, dir: 'toServer' | 'toClient'): Buffer {
    return Buffer.concat(this.connections[i]![dir]);
  }

  /** Cuts every relayed connection without a word, as a crashed process would. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    await unlink(this.path).catch(() => {});
  }
}

/** Connects a raw socket (for hostile or hand-made input). */
export function connectRaw(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the socket is closed (by either end). */
export function closed(s: net.Socket): Promise<void> {
  if (s.destroyed) return Promise.resolve();
  return new Promise((r) => s.once('close', () => r()));
}

/** A `critap proxy` child process. */
export interface CliProxy {
  child: ChildProcess;
  pid: number;
  /** Everything it wrote on stderr so far. */
  stderr(): string;
  /** Exit code (or 128 + signal number style text when killed by a signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kill it if still running (cleanup; the tests that care send their own signals). */
  kill(): void;
}

export const CRITAP_BIN = join(repoRoot(), 'bin', 'critap.js');

/**
 * Runs `critap proxy <args>`. Resolves once `listenPath` accepts connections or the process
 * exited (tests about refusing to start look at `exited`); a child that never gets there is killed.
 */
export async function spawnCliProxy(args: string[], listenPath: string, env: NodeJS.ProcessEnv = {}): Promise<CliProxy> {
  const child = spawn(process.execPath, [CRITAP_BIN, 'proxy', '--no-peer-lookup', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => (err += s));
  let exitedNow = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedNow = true;
      resolve({ code, signal });
    }),
  );
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const acceptsOrExited = async () => {
    while (!exitedNow) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect({ path: listenPath });
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (up) return;
      await sleep(25);
    }
  };
  try {
    await within(acceptsOrExited(), 15_000, `critap proxy ${args.join(' ')} to listen on ${listenPath}`);
  } catch (e) {
    kill();
    throw new Error(`${(e as Error).message}; stderr: ${err}`);
  }
  return { child, pid: child.pid!, stderr: () => err, exited, kill };
}

/** Resident set size of a process in KiB, from /proc/<pid>/status. */
export function vmRssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}
