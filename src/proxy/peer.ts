/**
 * Which process is on the other end of a unix socket (kubelet vs crictl matters when reading a
 * recording). Node has no SO_PEERCRED, so this asks the kernel's socket diagnostics through
 * `ss -xpn`: our end's inode → its peer inode → the process holding that inode. It runs once per
 * connection, off the forwarding path, one lookup at a time; failure just leaves the peer unknown.
 */
import { execFile } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import type net from 'node:net';
import type { Peer } from '../call.js';

let queue: Promise<unknown> = Promise.resolve();
let ssMissing = false;

function runSs(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-xpnH'], { maxBuffer: 16 * 1024 * 1024, timeout: 5000 }, (err, stdout) => {
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

export async function lookupUnixPeer(socket: net.Socket): Promise<Peer | undefined> {
  if (ssMissing || process.platform !== 'linux') return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  const link = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
  const inode = Number(/socket:\[(\d+)\]/.exec(link)?.[1]);
  if (!inode) return undefined;
  const run = queue.then(async () => {
    let text: string;
    try {
      text = await runSs();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') ssMissing = true;
      return undefined;
    }
    const table = parseSsUnix(text);
    const peerInode = table.get(inode)?.peer;
    const pid = peerInode !== undefined ? table.get(peerInode)?.pid : undefined;
    if (pid === undefined) return undefined;
    const exe = await readlink(`/proc/${pid}/exe`).catch(() => undefined);
    const peer: Peer = { pid };
    if (exe) peer.exe = exe;
    return peer;
  });
  queue = run.catch(() => undefined);
  return run;
}
