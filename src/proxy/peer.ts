/**
 * Which process is on the other end of a unix socket (kubelet vs crictl matters when reading a
 * recording).
 *
 * The kernel stores the client's pid in our end of the socket when it connects (SO_PEERCRED),
 * and keeps it there after the client exits: that is the one answer that does not race a
 * short-lived client like crictl, gone a few milliseconds after its last answer. Node cannot call
 * getsockopt, so a small perl (perl-base is part of every Debian-like system) inherits a
 * duplicate of our end and asks. The duplicate is made when perl is spawned, right after the
 * accept (connections accepted in the same turn of the event loop share one perl), so the answer
 * holds however fast the client goes. The client's executable is its /proc/<pid>/exe, which does
 * disappear with it: perl reads it at once, and a snapshot of every process's exe taken from
 * accept, newest processes first, covers a client that exited before that.
 *
 * The tap holds a connection's finished calls until the answer is in (see tap.ts). Failure just
 * leaves the peer unknown; nothing here is on the forwarding path.
 */
import { spawn } from 'node:child_process';
import { readdir, readlink } from 'node:fs/promises';
import type net from 'node:net';
import type { Peer } from '../call.js';

/** Sockets handed to one perl (each is one inherited fd). */
const MAX_PER_PERL = 200;
/** exe links read at once while taking a snapshot. */
const SNAPSHOT_WINDOW = 16;

/** For each fd given as an argument: "<fd> <pid> <exe>", or "<fd> -" when it has no peer credentials. */
const PEERCRED_PERL = String.raw`
use Socket qw(SOL_SOCKET SO_PEERCRED);
$| = 1;
for my $fd (@ARGV) {
  my $cred;
  if (open(my $s, '+<&=', $fd)) { $cred = getsockopt($s, SOL_SOCKET, SO_PEERCRED); }
  if (!$cred) { print "$fd -\n"; next; }
  my ($pid) = unpack('iii', $cred);
  my $exe = readlink("/proc/$pid/exe") // '';
  print "$fd $pid $exe\n";
}`;

interface Waiting {
  socket: net.Socket;
  resolve(p: Peer | undefined): void;
}

let waiting: Waiting[] = [];
let scheduled = false;
let perlMissing = false;

/** Parses the perl helper's lines into fd → {pid, exe}. Exported for tests. */
export function parsePeerCred(text: string): Map<number, Peer> {
  const out = new Map<number, Peer>();
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\d+) ?(.*)$/.exec(line);
    if (!m || Number(m[2]) <= 0) continue;
    const peer: Peer = { pid: Number(m[2]) };
    if (m[3]) peer.exe = m[3];
    out.set(Number(m[1]), peer);
  }
  return out;
}

export function lookupUnixPeer(socket: net.Socket): Promise<Peer | undefined> {
  if (perlMissing || process.platform !== 'linux') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    waiting.push({ socket, resolve });
    takeExeSnapshot();
    if (!scheduled) {
      scheduled = true;
      // After this turn's accepts and reads (their bytes are forwarded first), before any close:
      // the client's answer needs at least one more turn, so our end is still open here.
      setImmediate(askPerl);
    }
  });
}

function askPerl(): void {
  scheduled = false;
  const all = waiting;
  waiting = [];
  for (let i = 0; i < all.length; i += MAX_PER_PERL) askPerlFor(all.slice(i, i + MAX_PER_PERL));
}

function askPerlFor(batch: Waiting[]): void {
  const open = batch.filter((w) => !w.socket.destroyed && hasFd(w.socket));
  for (const w of batch) if (!open.includes(w)) w.resolve(undefined);
  if (open.length === 0) return;
  // spawn stops reading a stream it hands a child as stdio (so the two never read the same
  // socket); perl never reads it, so each socket's reading is put back as it was.
  const flowing = open.map((w) => !w.socket.isPaused());
  let child;
  try {
    child = spawn('perl', ['-e', PEERCRED_PERL, ...open.map((_, i) => String(3 + i))], {
      stdio: ['ignore', 'pipe', 'ignore', ...open.map((w) => w.socket)],
    });
  } catch {
    for (const w of open) w.resolve(undefined);
    return;
  } finally {
    open.forEach((w, i) => {
      if (flowing[i]) w.socket.resume();
    });
  }
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  child.once('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') perlMissing = true;
    // No perl (or it could not start): the peers stay unknown, and their calls wait no longer.
    for (const w of open) w.resolve(undefined);
  });
  child.once('close', () => {
    const found = parsePeerCred(out);
    open.forEach((w, i) => {
      const peer = found.get(3 + i);
      if (!peer?.pid || peer.exe) return w.resolve(peer);
      // Gone before perl looked: the snapshot from accept knows what it ran.
      void exeFromSnapshot(peer.pid).then((exe) => w.resolve(exe ? { ...peer, exe } : peer));
    });
  });
}

function hasFd(socket: net.Socket): boolean {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0;
}

/** pid → exe of every process, read newest first; one snapshot at a time, at most one more queued. */
let snapshot: Promise<Map<number, string>> | undefined;
let snapshotRunning = false;
let snapshotAgain = false;

function takeExeSnapshot(): void {
  if (snapshotRunning) {
    // The running one may have listed /proc before this client started: one more after it.
    snapshotAgain = true;
    return;
  }
  snapshotRunning = true;
  snapshot = readExes().finally(() => {
    snapshotRunning = false;
    if (snapshotAgain) {
      snapshotAgain = false;
      takeExeSnapshot();
    }
  });
}

async function readExes(): Promise<Map<number, string>> {
  const exes = new Map<number, string>();
  const pids = (await readdir('/proc').catch(() => [] as string[]))
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => b - a);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pids.length) {
      const pid = pids[next++]!;
      const exe = await readlink(`/proc/${pid}/exe`).catch(() => undefined);
      if (exe) exes.set(pid, exe);
    }
  };
  await Promise.all(Array.from({ length: SNAPSHOT_WINDOW }, worker));
  return exes;
}

async function exeFromSnapshot(pid: number): Promise<string | undefined> {
  // Wait for the snapshots taken since this connection's accept.
  while (snapshotRunning) await snapshot?.catch(() => undefined);
  return (await snapshot?.catch(() => undefined))?.get(pid);
}
