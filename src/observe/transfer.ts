/**
 * Hands calls from the forwarding thread to the observer thread in batches, without cloning
 * bodies. Small bodies are copied once into one fresh ArrayBuffer per batch; a large body that
 * owns its whole ArrayBuffer (as the proxy's captured bodies do) is not copied at all: its buffer
 * is *moved*. Both kinds are transferred (not cloned) with the message, and the observer side gets
 * zero-copy Buffer views. Moving large bodies matters for memory: a copy would leave the original
 * 8 MiB behind on the forwarding thread until its next garbage collection. Pure: no threads here.
 *
 * The calls themselves cross as numbers, not objects: one Float64Array per batch, in which every
 * string (methods, header names and values, status messages) is an index into the batch's list
 * of distinct strings. postMessage's structured clone of a batch of call objects cost the
 * forwarding thread about 2 µs a call (a key and a value written per field, per call); a
 * kubelet's calls repeat their methods and headers, so a batch's strings are few, and the
 * numbers' buffer is transferred with the bodies, not copied. What is rare (faults, status details, spooled bodies) crosses as it is,
 * in `extras`. A call's peer is the same object for every call of its connection: it crosses once
 * per batch (in `extras` too) and each call names it by index. One extras object per call (the
 * peer wrapped in it) made the structured clone of a busy batch cost the forwarding thread more
 * than the numbers and strings together.
 */
import type { CallRecord, CallStart, Header, Peer, TimedMessage } from '../call.js';
import { copyBytes } from '../copy-bytes.js';

/** Bodies from this size on are moved rather than copied (when they own their buffer). */
export const MOVE_BODY_BYTES = 64 * 1024;

const START = 0;
const END = 1;
const PART = 2;
const ABORT = 3;
/** Numbers per message: offsetNs, buffer index, start, length, flags, extras index of its spooled body (-1). */
const MESSAGE_NUMBERS = 6;
const COMPRESSED = 1;
/** Flags of an end. */
const TRUNCATED = 1;
const HAS_AUTHORITY = 2;
const HAS_TRACEPARENT = 4;
const HAS_EXTRAS = 8;
/** The fixed numbers of an end, before its messages and header lists. */
const END_NUMBERS = 14;
/**
 * Start times cross as nanoseconds from the batch's `baseNs`, exact while within 2^53 ns (104
 * days) of it; a call that started further away carries its start time in `extras`.
 */
const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/** What an end's `extras` entry holds: the record's rare fields. */
interface EndExtras {
  startNs?: bigint;
  details?: Uint8Array;
  fault?: CallRecord['fault'];
}

export interface PackedBatch {
  /** Every event, one after the other (see BatchPacker for the layout). Owns its ArrayBuffer, exactly: it may be transferred. */
  numbers: Float64Array;
  /** The distinct strings the numbers name by index. */
  strings: string[];
  /** Start times are nanoseconds from this one. */
  baseNs: bigint;
  /** Rare parts of events (EndExtras, spooled bodies), by index. */
  extras: unknown[];
  /** [0] holds the small bodies back to back; the others are moved bodies. All go in the transfer list. */
  buffers: ArrayBuffer[];
}

/**
 * A call began, a call ended, a part of a spooled body arrived, a spooled body will never be
 * finished. On the observer side, a start's requestMetadata is empty: the observers use a start
 * to count the call in flight (telemetry's gauge) and nothing else, and the call's metadata
 * arrives with its end.
 */
export type ObservedEvent = { start: CallStart } | { end: CallRecord } | { part: { id: number; data: Buffer } } | { abort: number };

/** A body whose ArrayBuffer is its own (not a slice of a pool or of a larger chunk), worth moving. */
function ownsBuffer(data: Buffer): boolean {
  const ab = data.buffer;
  return data.length >= MOVE_BODY_BYTES && data.byteOffset === 0 && ab.byteLength === data.length && ab instanceof ArrayBuffer;
}

function ownsPartBuffer(data: Buffer): boolean {
  return data.byteOffset === 0 && data.buffer instanceof ArrayBuffer;
}

const never = (): boolean => false;

/** Numbers an event takes (see BatchPacker). */
function numbersOf(e: ObservedEvent): number {
  if ('start' in e) return START_NUMBERS;
  if ('part' in e) return PART_NUMBERS;
  if ('abort' in e) return ABORT_NUMBERS;
  return endNumbersOf(e.end);
}

const START_NUMBERS = 4;
const PART_NUMBERS = 5;
const ABORT_NUMBERS = 2;

function endNumbersOf(r: CallRecord): number {
  // Two message lists and three header lists, each with its count first.
  return END_NUMBERS + 5 + (r.requests.length + r.responses.length) * MESSAGE_NUMBERS + 2 * (r.requestMetadata.length + r.responseHeaders.length + r.responseTrailers.length);
}

/** The two lists hold the very same pairs (a list repeated by the tap is the same array). */
function samePairs(list: readonly Header[], last: readonly Header[]): boolean {
  if (list === last) return true;
  const n = list.length;
  if (last.length !== n) return false;
  for (let i = 0; i < n; i++) if (list[i] !== last[i]) return false;
  return true;
}

/**
 * Room a growing batch starts with: numbers, and octets of small bodies. Small, as a quiet
 * proxy's batch holds a call or two (a Version call takes about 100 numbers and 50 octets): each
 * batch's buffers are transferred to the observer thread and freed there only at its next GC,
 * which a quiet worker runs seldom. With 32 + 16 KiB a batch, a kubelet's pace of ten calls a
 * second kept about 4 MB of spent batches resident. A busy proxy's batches start from the size
 * of the batch before (thread.ts).
 */
export const FIRST_NUMBERS = 512;
export const FIRST_BODY_BYTES = 1024;

/**
 * Writes one batch, an event at a time: numbers, strings by index, bodies copied or moved.
 *
 * The observer thread's sink packs each call as it ends rather than holding its record until
 * the batch goes: a record then dies young, in the forwarding thread's next scavenge, instead
 * of being copied by it (and promoted) while it waits up to FLUSH_MS; and its small bodies are
 * copied out while still in the CPU's cache. The room for numbers and bodies grows by doubling;
 * packBatch sizes it exactly up front.
 */
export class BatchPacker {
  private numbers: Float64Array;
  private at = 0;
  private readonly strings: string[] = [];
  private readonly stringIndex = new Map<string, number>();
  private readonly extras: unknown[] = [];
  private readonly buffers: ArrayBuffer[];
  private bodies: Buffer;
  private bodyAt = 0;
  private readonly moved = new Map<ArrayBuffer, number>();
  /** Each distinct peer object's index in `extras` (a connection's calls share theirs). */
  private readonly peers = new Map<Peer, number>();
  /** Start times are nanoseconds from this one: the first event's start. */
  private baseNs: bigint | undefined;
  private readonly movable: (data: Buffer) => boolean;
  private readonly partMovable: (data: Buffer) => boolean;
  /** Calls ended in this batch. */
  ends = 0;

  /**
   * With `move`, large bodies are moved: after the transfer they are detached on this side
   * (zero length), so nothing here may still use them.
   */
  constructor(opts: { move?: boolean } = {}, numbers = FIRST_NUMBERS, bodyBytes = FIRST_BODY_BYTES) {
    this.movable = opts.move ? ownsBuffer : never;
    // A part of a spooled body is alone in its ArrayBuffer even when shorter (a body's last part).
    this.partMovable = opts.move ? ownsPartBuffer : never;
    this.numbers = new Float64Array(numbers);
    // allocUnsafeSlow: never a slice of Node's shared pool, which must not be transferred away.
    this.bodies = Buffer.allocUnsafeSlow(bodyBytes);
    this.buffers = [this.bodies.buffer as ArrayBuffer];
  }

  /** Numbers and small-body octets written so far: room enough for a packer of the next batch. */
  get used(): { numbers: number; bodyBytes: number } {
    return { numbers: this.at, bodyBytes: this.bodyAt };
  }

  /** Nothing added yet. */
  get empty(): boolean {
    return this.at === 0;
  }

  /** The batch, ready for postMessage(batch, [...batch.buffers, batch.numbers.buffer]). The packer is done with. */
  finish(): PackedBatch {
    // Cut to what was written (a copy of a few tens of KiB per batch), so that the numbers'
    // buffer is exactly the batch and a reader may go by its length.
    const numbers = this.at === this.numbers.length ? this.numbers : this.numbers.slice(0, this.at);
    return { numbers, strings: this.strings, baseNs: this.baseNs ?? 0n, extras: this.extras, buffers: this.buffers };
  }

  private room(numbers: number): void {
    const need = this.at + numbers;
    if (need <= this.numbers.length) return;
    const grown = new Float64Array(Math.max(need, this.numbers.length * 2));
    grown.set(this.numbers.subarray(0, this.at));
    this.numbers = grown;
  }

  private bodyRoom(bytes: number): void {
    const need = this.bodyAt + bytes;
    if (need <= this.bodies.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(need, this.bodies.length * 2));
    this.bodies.copy(grown, 0, 0, this.bodyAt);
    this.bodies = grown;
    this.buffers[0] = grown.buffer as ArrayBuffer;
  }

  private num(n: number): void {
    this.numbers[this.at++] = n;
  }

  private str(s: string): void {
    let i = this.stringIndex.get(s);
    if (i === undefined) {
      i = this.strings.push(s) - 1;
      this.stringIndex.set(s, i);
    }
    this.numbers[this.at++] = i;
  }

  /**
   * Per field of an end (method, status message, end, authority): the string packed last and its
   * index. A connection's calls mostly repeat them as the very same strings (the tap's repeated
   * header blocks), so most take one comparison instead of a lookup in stringIndex.
   */
  private readonly lastField: string[] = ['', '', '', ''];
  private readonly lastFieldIndex: number[] = [-1, -1, -1, -1];

  private field(s: string, slot: number): void {
    const i = this.lastFieldIndex[slot]!;
    if (i < 0 || s !== this.lastField[slot]) {
      this.str(s);
      this.lastField[slot] = s;
      this.lastFieldIndex[slot] = this.numbers[this.at - 1]!;
      return;
    }
    this.numbers[this.at++] = i;
  }

  /** Where a body goes: its buffer's index and its start in it; large own buffers are moved, the rest copied. */
  private body(data: Buffer, move: boolean): void {
    if (move) {
      const ab = data.buffer as ArrayBuffer;
      let index = this.moved.get(ab);
      if (index === undefined) {
        index = this.buffers.push(ab) - 1;
        this.moved.set(ab, index);
      }
      this.num(index);
      this.num(0);
    } else {
      this.bodyRoom(data.length);
      copyBytes(data, 0, this.bodies, this.bodyAt, data.length);
      this.num(0);
      this.num(this.bodyAt);
      this.bodyAt += data.length;
    }
    this.num(data.length);
  }

  private peer(p: Peer | undefined): void {
    if (p === undefined) {
      this.num(-1);
      return;
    }
    let i = this.peers.get(p);
    if (i === undefined) {
      i = this.extras.push(p) - 1;
      this.peers.set(p, i);
    }
    this.num(i);
  }

  /** The start time startOffset read last, and its offset: calls that started together often end one after the other. */
  private lastStartNs: bigint | undefined;
  private lastOffset = 0;

  private startOffset(startNs: bigint): number {
    if (startNs === this.lastStartNs) return this.lastOffset;
    const base = (this.baseNs ??= startNs);
    const offset = Number(startNs - base);
    this.lastStartNs = startNs;
    this.lastOffset = offset > MAX_EXACT || offset < -MAX_EXACT ? NaN : offset;
    return this.lastOffset;
  }

  private messages(list: readonly TimedMessage[]): void {
    this.num(list.length);
    for (const m of list) {
      this.num(m.offsetNs);
      // The length first: most bodies are small, and movable is a call through a field.
      const data = m.data;
      this.body(data, data.length >= MOVE_BODY_BYTES && this.movable(data));
      this.num(m.compressed === true ? COMPRESSED : 0);
      this.num(m.spooled ? this.extras.push(m.spooled) - 1 : -1);
    }
  }

  /**
   * Per kind of header list (request metadata, response headers, trailers): the last one packed
   * and where its numbers start. HPACK gives a header from its table as the table's own pair, so
   * a connection's calls mostly carry lists of the very same pairs: such a list copies the last
   * one's numbers instead of looking up two strings per header.
   */
  private readonly lastList: Array<readonly Header[]> = [[], [], []];
  private readonly lastAt: number[] = [0, 0, 0];

  private headers(list: readonly Header[], kind: number): void {
    const n = list.length;
    this.num(n);
    if (n === 0) return;
    const at = this.at;
    if (samePairs(list, this.lastList[kind]!)) {
      // A number at a time: a list is a few headers, fewer numbers than copyWithin's call costs.
      const numbers = this.numbers;
      const from = this.lastAt[kind]!;
      for (let i = 0; i < 2 * n; i++) numbers[at + i] = numbers[from + i]!;
      this.at = at + 2 * n;
      this.lastList[kind] = list;
      return;
    }
    for (let i = 0; i < n; i++) {
      const h = list[i]!;
      this.str(h[0]);
      this.str(h[1]);
    }
    this.lastList[kind] = list;
    this.lastAt[kind] = at;
  }

  add(e: ObservedEvent): void {
    if ('start' in e) this.start(e.start);
    else if ('end' in e) this.end(e.end);
    else if ('part' in e) this.part(e.part.id, e.part.data);
    else this.abort(e.abort);
  }

  start(call: CallStart): void {
    this.room(START_NUMBERS);
    this.num(START);
    this.str(call.method);
    const offset = this.startOffset(call.startNs);
    this.num(offset || 0);
    this.num(Number.isNaN(offset) ? this.extras.push(call.startNs) - 1 : -1);
  }

  part(id: number, data: Buffer): void {
    this.room(PART_NUMBERS);
    this.num(PART);
    this.num(id);
    this.body(data, this.partMovable(data));
  }

  abort(id: number): void {
    this.room(ABORT_NUMBERS);
    this.num(ABORT);
    this.num(id);
  }

  end(r: CallRecord): void {
    this.room(endNumbersOf(r));
    this.ends++;
    let extras: EndExtras | undefined;
    const offset = this.startOffset(r.startNs);
    if (Number.isNaN(offset)) (extras ??= {}).startNs = r.startNs;
    if (r.status.details) (extras ??= {}).details = r.status.details;
    if (r.fault) (extras ??= {}).fault = r.fault;
    let flags = 0;
    if (r.truncated) flags |= TRUNCATED;
    if (r.authority !== undefined) flags |= HAS_AUTHORITY;
    if (r.propagatedTraceparent !== undefined) flags |= HAS_TRACEPARENT;
    if (extras) flags |= HAS_EXTRAS;
    this.num(END);
    this.num(flags);
    this.field(r.method, 0);
    this.num(offset || 0);
    this.num(r.durationNs);
    this.num(r.status.code);
    this.field(r.status.message, 1);
    this.field(r.end, 2);
    this.num(r.requestBytes);
    this.num(r.responseBytes);
    if (r.authority !== undefined) this.field(r.authority, 3);
    else this.num(-1);
    if (r.propagatedTraceparent !== undefined) this.str(r.propagatedTraceparent);
    else this.num(-1);
    this.num(extras ? this.extras.push(extras) - 1 : -1);
    this.peer(r.peer);
    this.messages(r.requests);
    this.messages(r.responses);
    this.headers(r.requestMetadata, 0);
    this.headers(r.responseHeaders, 1);
    this.headers(r.responseTrailers, 2);
  }
}

/**
 * Packs events for postMessage(batch, [...batch.buffers, batch.numbers.buffer]), sized exactly.
 * With `move`, large bodies are moved (see BatchPacker).
 */
export function packBatch(events: readonly ObservedEvent[], opts: { move?: boolean } = {}): PackedBatch {
  const movable = opts.move ? ownsBuffer : never;
  const partMovable = opts.move ? ownsPartBuffer : never;
  let size = 0;
  let bodyBytes = 0;
  for (const e of events) {
    size += numbersOf(e);
    if ('end' in e) {
      for (const m of e.end.requests) if (!movable(m.data)) bodyBytes += m.data.length;
      for (const m of e.end.responses) if (!movable(m.data)) bodyBytes += m.data.length;
    } else if ('part' in e && !partMovable(e.part.data)) {
      bodyBytes += e.part.data.length;
    }
  }
  const packer = new BatchPacker(opts, size, bodyBytes);
  for (const e of events) packer.add(e);
  return packer.finish();
}

/** Reads a batch back, in the order packBatch wrote it. */
class Unpacker {
  private at = 0;
  /** Per kind of header list (request metadata, response headers, trailers): the last one, and where its numbers are. */
  private readonly lastList: Array<Header[] | undefined> = [undefined, undefined, undefined];
  private readonly lastAt: number[] = [0, 0, 0];
  /** Header pairs made so far, by name and value index. */
  private readonly pairs = new Map<number, Header>();

  constructor(private readonly batch: PackedBatch) {}

  private num(): number {
    return this.batch.numbers[this.at++]!;
  }

  private str(): string {
    return this.batch.strings[this.batch.numbers[this.at++]!]!;
  }

  private body(): Buffer {
    const index = this.num();
    const start = this.num();
    const length = this.num();
    return Buffer.from(this.batch.buffers[index]!, start, length);
  }

  private messages(): TimedMessage[] {
    const n = this.num();
    const out: TimedMessage[] = new Array<TimedMessage>(n);
    for (let i = 0; i < n; i++) {
      const offsetNs = this.num();
      const m: TimedMessage = { offsetNs, data: this.body() };
      if (this.num() & COMPRESSED) m.compressed = true;
      const spooled = this.num();
      if (spooled >= 0) m.spooled = this.batch.extras[spooled] as TimedMessage['spooled'];
      out[i] = m;
    }
    return out;
  }

  /**
   * A header list. Calls of one batch mostly repeat their lists (a client's request metadata,
   * the runtime's headers and trailers): a list the same as the last one of its kind is that
   * same array, and a name-value pair seen before in the batch is the same pair. Header lists
   * are never changed in place (whoever redacts copies), so sharing is safe; it saves the
   * observer thread allocating, and its scavenges copying, a dozen arrays per call while the
   * recorder holds the call. Callers (and encodeCallValue's cache) may rely on a repeated list
   * being the same array.
   */
  private headers(kind: number): Header[] {
    const numbers = this.batch.numbers;
    const n = numbers[this.at++]!;
    const at = this.at;
    this.at += 2 * n;
    const last = this.lastList[kind];
    if (last && last.length === n) {
      const lastAt = this.lastAt[kind]!;
      let same = true;
      for (let i = 0; i < 2 * n; i++) {
        if (numbers[lastAt + i] !== numbers[at + i]) {
          same = false;
          break;
        }
      }
      if (same) return last;
    }
    const strings = this.batch.strings;
    const out: Header[] = new Array<Header>(n);
    for (let i = 0; i < n; i++) {
      const name = numbers[at + 2 * i]!;
      const value = numbers[at + 2 * i + 1]!;
      const key = name * strings.length + value;
      let pair = this.pairs.get(key);
      if (pair === undefined) {
        pair = [strings[name]!, strings[value]!];
        this.pairs.set(key, pair);
      }
      out[i] = pair;
    }
    this.lastList[kind] = out;
    this.lastAt[kind] = at;
    return out;
  }

  get done(): boolean {
    return this.at >= this.batch.numbers.length;
  }

  event(): ObservedEvent {
    const kind = this.num();
    if (kind === START) {
      const method = this.str();
      const offset = this.num();
      const far = this.num();
      const startNs = far >= 0 ? (this.batch.extras[far] as bigint) : this.batch.baseNs + BigInt(offset);
      return { start: { method, startNs, requestMetadata: [] } };
    }
    if (kind === PART) {
      const id = this.num();
      return { part: { id, data: this.body() } };
    }
    if (kind === ABORT) return { abort: this.num() };
    const flags = this.num();
    const method = this.str();
    const offset = this.num();
    const durationNs = this.num();
    const code = this.num();
    const message = this.str();
    const end = this.str() as CallRecord['end'];
    const requestBytes = this.num();
    const responseBytes = this.num();
    const authority = flags & HAS_AUTHORITY ? this.str() : (this.at++, undefined);
    const traceparent = flags & HAS_TRACEPARENT ? this.str() : (this.at++, undefined);
    const extrasIndex = this.num();
    const extras = flags & HAS_EXTRAS ? (this.batch.extras[extrasIndex] as EndExtras) : undefined;
    const peerIndex = this.num();
    const status: CallRecord['status'] = { code, message };
    if (extras?.details) status.details = Buffer.from(extras.details.buffer, extras.details.byteOffset, extras.details.byteLength);
    // The fields in the order the proxy's tap builds them.
    const record: CallRecord = {
      method,
      startNs: extras?.startNs ?? this.batch.baseNs + BigInt(offset),
      durationNs,
      requests: this.messages(),
      responses: this.messages(),
      status,
      end,
      requestMetadata: this.headers(0),
      responseHeaders: this.headers(1),
      responseTrailers: this.headers(2),
      requestBytes,
      responseBytes,
    };
    if (flags & TRUNCATED) record.truncated = true;
    if (authority !== undefined) record.authority = authority;
    if (traceparent !== undefined) record.propagatedTraceparent = traceparent;
    if (extras?.fault) record.fault = extras.fault;
    if (peerIndex >= 0) record.peer = this.batch.extras[peerIndex] as Peer;
    return { end: record };
  }
}

export function unpackBatch(batch: PackedBatch): ObservedEvent[] {
  const out: ObservedEvent[] = [];
  eachEvent(batch, (e) => out.push(e));
  return out;
}

/**
 * Reads a batch back event by event, each handed to `visit` before the next is made. The
 * observer thread uses this rather than unpackBatch: a batch holds up to 512 calls, and made all
 * at once they were all alive together, to be copied by any scavenge that came meanwhile; one at
 * a time, each is garbage (the recorder keeps only its encoded value) when the next is read.
 */
export function eachEvent(batch: PackedBatch, visit: (e: ObservedEvent) => void): void {
  const reader = new Unpacker(batch);
  while (!reader.done) visit(reader.event());
}
