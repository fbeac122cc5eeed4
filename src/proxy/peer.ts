/**
 * Which process is on the other end of a unix socket (kubelet vs crictl matters when reading a
 * recording).
 *
 * The kernel stores the client's pid in our end of the socket when it connects (SO_PEERCRED),
 * and keeps it there after the client exits: that is the one answer that does not race a
 * short-lived client like crictl, gone a few milliseconds after its last answer. Node cannot call
 * getsockopt, so a small perl (perl-base is part of every Debian-like system) inherits a
 * duplicate of our end and asks. The duplicate is made when perl is spawned, once the
 * connection's first answer is on its way (connections that get there in the same turn of the
 * event loop share one perl), so the answer holds however fast the client goes afterwards. The client's executable is its /proc/<pid>/exe, which does
 * disappear with it: perl reads it at once, and a snapshot of every process's exe taken from
 * accept, newest processes first, covers a client that exited before that.
 *
 * The tap holds a connection's finished calls until the answer is in (see tap.ts). Failure just
 * leaves the peer unknown. On the forwarding thread, only readNewestExes runs, once per accepted
 * connection (about 60 µs); the rest is async reads and a child process.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
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

export interface PeerLookup {
  peer: Promise<Peer | undefined>;
  /**
   * Ask now. The connection calls it once its first answer is on its way to the client (or
   * after a moment without one), so perl's spawn never delays the first call: the client cannot
   * have closed before reading that answer, so our end is still open at the end of this turn.
   */
  ask(): void;
}

export function lookupUnixPeer(socket: net.Socket): PeerLookup {
  if (perlMissing || process.platform !== 'linux') return { peer: Promise.resolve(undefined), ask: () => {} };
  // What the client runs: the newest processes at once, then all of them (async reads, off the event loop).
  readNewestExes();
  takeExeSnapshot();
  let resolve!: (p: Peer | undefined) => void;
  const peer = new Promise<Peer | undefined>((r) => (resolve = r));
  let asked = false;
  return {
    peer,
    ask() {
      if (asked) return;
      asked = true;
      waiting.push({ socket, resolve });
      if (!scheduled) {
        scheduled = true;
        // At the end of this turn: every connection that asked in it shares one perl.
        setImmediate(askPerl);
      }
    },
  };
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

/**
 * pid → exe of the processes seen by recent snapshots (read newest first, one at a time, at most
 * one more queued). An entry stays for EXE_MEMORY_MS after a snapshot last saw it, so a client
 * that exited after the snapshot that saw it is still known; a pid is not reused that fast.
 */
const knownExes = new Map<number, { exe: string; seenAt: number }>();
const EXE_MEMORY_MS = 10_000;
let snapshot: Promise<void> | undefined;
let snapshotRunning = false;
let snapshotAgain = false;

/** Newest processes whose exe is read at once, at accept (see readNewestExes). */
const NEWEST_AT_ACCEPT = 8;

function readKernelNumber(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

const PID_MAX = readKernelNumber('/proc/sys/kernel/pid_max') ?? 4_194_304;

/**
 * How long ago `pid` was handed out, in pids (0: the last one). pids wrap at pid_max (32 768 on
 * many systems, reached in minutes on a busy node), so the highest number is not the newest
 * process: counting back from the kernel's last pid is. Without ns_last_pid, the highest first.
 */
function pidAge(lastPid: number | undefined): (pid: number) => number {
  if (lastPid === undefined) return (pid) => PID_MAX - pid;
  return (pid) => (lastPid - pid + PID_MAX) % PID_MAX;
}

function listPids(names: string[]): number[] {
  const pids: number[] = [];
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(n));
  }
  return pids;
}

/**
 * The client that just connected is almost always among the newest processes. Their exe links
 * are read here, synchronously: the async snapshot below goes through libuv's thread pool, which
 * the recording's LevelDB writes share, so under load it can reach the newest pids only after a
 * fast client (crictl version: one call, gone within a millisecond of its answer) has exited.
 * About 60 µs per accepted connection; kubelets keep theirs open.
 */
function readNewestExes(): void {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return;
  }
  const age = pidAge(readKernelNumber('/proc/sys/kernel/ns_last_pid'));
  const newest = listPids(names)
    .sort((a, b) => age(a) - age(b))
    .slice(0, NEWEST_AT_ACCEPT);
  const now = Date.now();
  for (const pid of newest) {
    try {
      knownExes.set(pid, { exe: readlinkSync(`/proc/${pid}/exe`), seenAt: now });
    } catch {
      // gone already, or not ours to read
    }
  }
}

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

async function readExes(): Promise<void> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  const age = pidAge(readKernelNumber('/proc/sys/kernel/ns_last_pid'));
  const pids = listPids(names).sort((a, b) => age(a) - age(b));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pids.length) {
      const pid = pids[next++]!;
      const exe = await readlink(`/proc/${pid}/exe`).catch(() => undefined);
      if (exe) knownExes.set(pid, { exe, seenAt: Date.now() });
    }
  };
  await Promise.all(Array.from({ length: SNAPSHOT_WINDOW }, worker));
  const old = Date.now() - EXE_MEMORY_MS;
  for (const [pid, e] of knownExes) if (e.seenAt < old) knownExes.delete(pid);
}

async function exeFromSnapshot(pid: number): Promise<string | undefined> {
  // Wait for the snapshots taken since this connection's accept.
  while (snapshotRunning) await snapshot?.catch(() => undefined);
  return knownExes.get(pid)?.exe;
}
