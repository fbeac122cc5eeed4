/**
 * Which process is on the other end of a unix socket (kubelet vs crictl matters when reading a
 * recording). Node has no SO_PEERCRED, so this asks the kernel's socket diagnostics through
 * `ss -xpn`: our end's inode → its peer inode → the process holding that inode.
 *
 * A short-lived client (crictl) is gone a few milliseconds after its last answer, and once it has
 * exited the kernel no longer names its socket. So the lookup starts at accept, and connections
 * accepted while one `ss` runs share the next run (one `ss` per burst, not per connection, and
 * never one that started before the connection existed). The tap holds the connection's finished
 * calls until the answer is in (see tap.ts), so even a call that ends first is named.
 * Failure just leaves the peer unknown; nothing here is on the forwarding path.
 */
import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import type net from 'node:net';
import type { Peer } from '../call.js';

/** One more `ss` run for a connection whose peer's owner was not seen in the first one. */
const MAX_RUNS_PER_LOOKUP = 2;

interface Waiting {
  inode: number;
  runs: number;
  resolve(p: Peer | undefined): void;
}

let waiting: Waiting[] = [];
let running = false;
let ssMissing = false;

function runSs(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-xpnH'], { maxBuffer: 64 * 1024 * 1024, timeout: 5000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
  });
}

/** Parses `ss -xpnH` output into inode → {peerInode, pid}. Exported for tests. */
export function parseSsUnix(text: string): Map<number, { peer: number; pid?: number }> {
  const out = new Map<number, { peer: number; pid?: number }>();
  for (const line of text.split('\n')) {
    // u_str ESTAB 0 0 /run/x.sock 123 * 122 users:(("crictl",pid=42,fd=3))
    const m = /^\S+\s+\S+\s+\d+\s+\d+\s+(?:\S+\s+)?(\d+)\s+\S+\s+(\d+)(?:\s+users:\(\("[^"]*",pid=(\d+))?/.exec(line.trim());
    if (!m) continue;
    const entry: { peer: number; pid?: number } = { peer: Number(m[2]) };
    if (m[3]) entry.pid = Number(m[3]);
    out.set(Number(m[1]), entry);
  }
  return out;
}

/** The inode of a connected socket's own end, read at once (a readlink, microseconds). */
function socketInode(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    const inode = Number(/socket:\[(\d+)\]/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1]);
    return inode > 0 ? inode : undefined;
  } catch {
    return undefined;
  }
}

export function lookupUnixPeer(socket: net.Socket): Promise<Peer | undefined> {
  if (ssMissing || process.platform !== 'linux') return Promise.resolve(undefined);
  const inode = socketInode(socket);
  if (inode === undefined) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    waiting.push({ inode, runs: 0, resolve });
    if (!running) void runBatch();
  });
}

async function runBatch(): Promise<void> {
  running = true;
  while (waiting.length > 0) {
    const batch = waiting;
    waiting = [];
    let table: Map<number, { peer: number; pid?: number }> | undefined;
    try {
      table = parseSsUnix(await runSs());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') ssMissing = true;
    }
    for (const w of batch) {
      w.runs++;
      const peerInode = table?.get(w.inode)?.peer;
      const pid = peerInode ? table!.get(peerInode)?.pid : undefined;
      if (pid !== undefined) {
        void readlink(`/proc/${pid}/exe`).then(
          (exe) => w.resolve({ pid, exe }),
          () => w.resolve({ pid }),
        );
      } else if (table && peerInode && w.runs < MAX_RUNS_PER_LOOKUP && !ssMissing) {
        // The peer is still connected but its owner was not listed (it was scanned before it
        // connected, or passed the socket on): one more look.
        waiting.push(w);
      } else {
        w.resolve(undefined);
      }
    }
  }
  running = false;
}
