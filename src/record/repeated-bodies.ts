/**
 * A body that repeats is stored once. A kubelet relists every second and the answers
 * (ListPodSandbox, ListContainers, ListImages, ImageFsInfo …) change only when a pod or an image
 * does, so on a steady node nearly every one is the answer before again: an hour of a 150-pod
 * node (bench/big-node.ts) stored the same 60-250 KB answers thousands of times, packed, 187 MB.
 *
 * The writer remembers the last bodies it stored (of REPEAT_FROM_BYTES up to a body file's size,
 * after redaction: the bytes as stored). The first time a body is seen it is stored in its call's
 * value as before; when it comes again, it is written once to a body file (packed when that pays,
 * packed-bodies.ts), and this call and every later one with the same bytes name that file instead
 * (value format 4 with a file reference, recording format 5). Readers read it like any body file.
 * Retention removes the file with the last call that names it (shared-files.ts counts them).
 *
 * Why files and not LevelDB entries: body files already have everything a body kept apart from
 * its value needs (readers that read them synchronously, salvage of a lost one, the orphan sweep
 * after a crash), and LevelDB would copy each into its log, memtable and compactions again.
 */
import type { TimedMessage } from '../call.js';
import { SPOOL_FROM_BYTES } from '../proxy/capture-budget.js';
import type { BodySpool } from './body-store.js';
import { packBody } from './packed-bodies.js';
import type { SharedFiles } from './shared-files.js';
import type { BodyFilesOf, BodyPlacer } from './prepare.js';

/**
 * Bodies from this size on are kept once when they repeat. A file takes a 4 KiB block on most
 * file systems; a call naming it stores ~25 bytes instead of the body.
 */
export const REPEAT_FROM_BYTES = 4 * 1024;
/** Bodies remembered, most recently seen first: a node's relists of a few kinds, and room for the bodies that never repeat between them (stats). */
const REMEMBERED = 32;
/** And at most this many of their bytes (a 150-pod node's relists are 60-250 KB each). */
const REMEMBERED_BYTES = 8 * 1024 * 1024;

interface Remembered {
  /** A copy of the body (a body may be a view into a larger buffer that must not be kept alive). */
  data: Buffer;
  /** Its file, once it came a second time. */
  file?: string;
  /** The bytes the file holds: packedLength when packed, else the body's length. */
  stored?: number;
  packedLength?: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * Its own list rather than RecentBodies (recent-bodies.ts), which replaces entries in turn: a kept
 * body must stay while it keeps coming (most recently seen first), forgetting one must let go of
 * its file, and the bytes held are bounded, not only the count.
 */
export class RepeatedBodies implements BodyPlacer {
  /** Most recently seen first. */
  private readonly recent: Remembered[] = [];
  private bytes = 0;
  private nextId = 0;

  /**
   * `spool`: a BodySpool of its own (its session keeps these file names apart from the proxy's
   * spooled bodies); `shared`: the pins and counts of the store being written.
   */
  constructor(
    private readonly spool: BodySpool,
    private readonly shared: () => SharedFiles | undefined,
  ) {}

  /**
   * The message as it is to be stored: itself, or (a repeated body) one naming the body's file,
   * with the file added to `into.sharedFiles` and pinned until that call is stored or given up
   * (releasePins).
   */
  place(m: TimedMessage, into: BodyFilesOf): TimedMessage {
    const data = m.data;
    if (m.spooled || data.length < REPEAT_FROM_BYTES || data.length >= SPOOL_FROM_BYTES) return m;
    const shared = this.shared();
    if (!shared) return m;
    const seen = this.find(data);
    if (!seen) {
      this.remember(data);
      return m;
    }
    if (seen.file === undefined && !this.keepInFile(seen, shared)) return m;
    shared.pin(seen.file!);
    (into.sharedFiles ??= []).push({ file: seen.file!, length: seen.stored! });
    const out: TimedMessage = { offsetNs: m.offsetNs, data: EMPTY, spooled: { id: 0, length: data.length, file: seen.file! } };
    if (seen.packedLength !== undefined) out.spooled!.packedLength = seen.packedLength;
    if (m.compressed) out.compressed = true;
    return out;
  }

  /** The pins a prepared call holds, once it is stored (its count holds the file now) or given up. */
  release(call: BodyFilesOf): void {
    const named = call.sharedFiles;
    const shared = this.shared();
    if (!named || !shared) return;
    for (let i = 0; i < named.length; i++) shared.unpin(named[i]!.file);
  }

  /** Forgets every body (the store is being closed or replaced): their files lose this memory's pins. */
  forget(): void {
    while (this.recent.length > 0) this.drop(this.recent.length - 1);
  }

  /** Writes the body's file; false when it cannot (the body is then stored in the value, as the first time). */
  private keepInFile(seen: Remembered, shared: SharedFiles): boolean {
    const packed = packBody(seen.data);
    const bytes = packed ?? seen.data;
    const id = ++this.nextId;
    this.spool.append(id, bytes);
    const done = this.spool.finish(id, bytes.length);
    if ('error' in done) return false;
    seen.file = done.file;
    seen.stored = bytes.length;
    if (packed) seen.packedLength = packed.length;
    // The memory's own pin: a later call may name the file while no stored call does.
    shared.pin(done.file);
    return true;
  }

  private find(data: Buffer): Remembered | undefined {
    const recent = this.recent;
    for (let i = 0; i < recent.length; i++) {
      const r = recent[i]!;
      if (r.data.length !== data.length || !r.data.equals(data)) continue;
      if (i > 0) {
        recent.splice(i, 1);
        recent.unshift(r);
      }
      return r;
    }
    return undefined;
  }

  private remember(data: Buffer): void {
    this.recent.unshift({ data: Buffer.from(data) });
    this.bytes += data.length;
    while (this.recent.length > REMEMBERED || (this.bytes > REMEMBERED_BYTES && this.recent.length > 1)) this.drop(this.recent.length - 1);
  }

  private drop(i: number): void {
    const [r] = this.recent.splice(i, 1);
    this.bytes -= r!.data.length;
    if (r!.file !== undefined) this.shared()?.unpin(r!.file);
  }
}
