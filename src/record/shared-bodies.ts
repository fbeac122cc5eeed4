/**
 * Identical bodies of a recording, held once by the commands that read a whole recording into
 * memory: replay (replay/load.ts) and diff (cli/diff.ts).
 *
 * A kubelet relists every second (ListPodSandbox, ListContainers) and the answers change only
 * when a pod or container does, so a long recording of a busy node is mostly the same large
 * answers again and again: an hour of a 150-pod node is 7 200 relist answers of 60–200 KB,
 * about 1 GB read back, and far fewer different ones. Replay kept each call's own copy (and
 * decoded each), 3.0 GB resident. Bodies are shared by content as they are read, so memory grows
 * with what the recording says, not how often it said it, and work done per answer (replay's
 * decoding, diff's masking) can be done once per different answer: the same buffer is the same
 * answer.
 *
 * A body read from a recording can be a view into the whole stored value (its header, its
 * other bodies, a packed answer's compressed bytes): kept as it is, a 2-byte request pinned tens
 * of KB. What is kept is its own copy then.
 *
 * Shared buffers are read, never written: replay builds every answer it changes anew.
 */
import { createHash } from 'node:crypto';
import type { CallRecord, TimedMessage } from '../call.js';

/** Bodies from this size are known by their SHA-256; smaller ones by their bytes themselves. */
export const HASH_MIN_BYTES = 512;
/** How many bodies are compared byte for byte before hashing: a kubelet's relist and poll answers. */
const RECENT = 8;

/** `data`, or a copy of it when it is a view into a buffer more than twice its size. */
function compact(data: Buffer): Buffer {
  return data.buffer.byteLength > 2 * data.length ? Buffer.from(data) : data;
}

export class SharedBodies {
  /** The bodies kept or shared last (a relist's answers, a stats poll's), compared before hashing. */
  private readonly recent: Buffer[] = [];
  /** A small body's bytes (as latin1) → the first body read with them. */
  private readonly small = new Map<string, Buffer>();
  /** `<length>:<sha-256>` → the first body read with that content. */
  private readonly byContent = new Map<string, Buffer>();
  /** Bodies replaced by one read before, and their bytes: what sharing saved. */
  shared = 0;
  sharedBytes = 0;

  /** The body to keep for `data`: an earlier one with the same bytes, else `data` (or its own copy, see above). */
  share(data: Buffer): Buffer {
    if (data.length < HASH_MIN_BYTES) {
      const bytes = data.toString('latin1');
      const had = this.small.get(bytes);
      if (had !== undefined) return this.counted(had, data);
      const own = compact(data);
      this.small.set(bytes, own);
      return own;
    }
    // The same answer again is usually one of the last few kept: comparing bytes costs less than hashing them.
    for (let i = 0; i < this.recent.length; i++) {
      const r = this.recent[i]!;
      if (r.length === data.length && r.equals(data)) return this.reused(r, data);
    }
    const key = `${data.length}:${createHash('sha256').update(data).digest('base64')}`;
    const had = this.byContent.get(key);
    if (had !== undefined) return this.reused(had, data);
    const own = compact(data);
    this.byContent.set(key, own);
    this.remember(own);
    return own;
  }

  private reused(kept: Buffer, data: Buffer): Buffer {
    this.remember(kept);
    return this.counted(kept, data);
  }

  private counted(kept: Buffer, data: Buffer): Buffer {
    this.shared++;
    this.sharedBytes += data.length;
    return kept;
  }

  /** Most recent first, without repeats. */
  private remember(kept: Buffer): void {
    if (this.recent[0] === kept) return;
    const at = this.recent.indexOf(kept);
    if (at >= 0) this.recent.splice(at, 1);
    else if (this.recent.length === RECENT) this.recent.pop();
    this.recent.unshift(kept);
  }

  /** Shares each message's body, in place (the messages are the caller's own, just read). */
  shareMessages(messages: readonly TimedMessage[]): void {
    for (let i = 0; i < messages.length; i++) messages[i]!.data = this.share(messages[i]!.data);
  }

  /** Shares a call's request and response bodies, in place. */
  shareCall(call: Pick<CallRecord, 'requests' | 'responses'>): void {
    this.shareMessages(call.requests);
    this.shareMessages(call.responses);
  }
}
