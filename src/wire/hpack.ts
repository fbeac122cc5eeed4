/**
 * HPACK (RFC 7541) header block decoder for the proxy's observer.
 *
 * The proxy forwards HTTP/2 frames untouched; to learn `:path`, `grpc-status` and
 * friends it decodes every header block, keeping one HpackDecoder per direction
 * that mirrors the peer encoder's dynamic table. It runs for every CRI call, so the
 * inner loop works on offsets into the block. A header taken from a table (static or
 * dynamic) is returned as the table's own [name, value] pair, not a copy: callers
 * treat decoded headers as read-only. When nothing is observed, `skim` keeps the table
 * in step and reads only `:path`, allocating nothing for indexed fields and skipping
 * the bytes of literals that are neither indexed nor wanted.
 */
import type { Header } from '../call.js';
import { huffmanDecode } from './huffman.js';

/** Malformed header block. HPACK errors are connection errors: the decoder is unusable afterwards. */
export class HpackError extends Error {
  override name = 'HpackError';
}

/** RFC 7541 Appendix A. Index 1 is STATIC_TABLE[0]. */
const STATIC_TABLE: readonly Readonly<Header>[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_TABLE.length; // 61
for (const entry of STATIC_TABLE) Object.freeze(entry);

/** RFC 7541 §4.1: each entry costs its octets plus 32. */
const ENTRY_OVERHEAD = 32;
/** Integers above this are rejected (no real header block needs them; it keeps arithmetic exact). */
const MAX_INTEGER = 2 ** 31 - 1;
const DEFAULT_TABLE_SIZE = 4096;

export class HpackDecoder {
  // Dynamic table as a ring buffer: the newest entry (HPACK index 62) sits at `head`,
  // older ones at head-1, head-2, … (mod capacity). Capacity is a power of two.
  /** The entries themselves: what decode() returns for an indexed field. */
  private entries: Header[] = new Array<Header>(64);
  private mask = 63;
  private head = 0;
  private count = 0;
  private size = 0;
  /** Current table size limit, as last set by the encoder (starts at 4096, RFC 7540 §6.5.2). */
  private capacity = DEFAULT_TABLE_SIZE;
  /** The largest limit the encoder may choose: the decoding side's SETTINGS_HEADER_TABLE_SIZE. */
  private maxCapacity: number;
  private failed = false;
  /**
   * Counts what changed the dynamic table (entries added, size updates) and errors: while it
   * stands still, the same block bytes decode to the same headers (see ConnectionTap's
   * RepeatedBlock), as a block of indexed fields only changes nothing.
   */
  private changes = 0;
  /** Read offset into the block being decoded. */
  private pos = 0;

  /**
   * maxTableSize: the largest dynamic table size the encoder may switch to (the decoding
   * side's SETTINGS_HEADER_TABLE_SIZE; default 4096). The table starts at 4096.
   */
  constructor(maxTableSize = DEFAULT_TABLE_SIZE) {
    this.maxCapacity = checkedTableSize(maxTableSize);
  }

  /**
   * Called when the decoding side announces a new SETTINGS_HEADER_TABLE_SIZE (call it when
   * the encoder acknowledges that SETTINGS frame: blocks before the ACK follow the old value).
   * The table itself changes only when the encoder sends a size update, which RFC 7541 §4.2
   * obliges it to do at the start of its next block when its table no longer fits; an
   * observer keeps mirroring what the encoder actually does rather than enforcing that.
   */
  setMaxTableSize(n: number): void {
    this.maxCapacity = checkedTableSize(n);
  }

  /** Changes of the table so far (and errors): equal readings mean an unchanged table. */
  get tableChanges(): number {
    return this.changes;
  }

  /** Current dynamic table size in octets (RFC 7541 accounting: name + value + 32). */
  get tableSize(): number {
    return this.size;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads joined). Returns
   * [name, value] in order. Strings are decoded as latin1 so bytes round-trip exactly.
   * Pairs that come from a table are the table's own (shared, never to be changed); the list
   * itself is new for each block, the caller's to change.
   * Throws HpackError on malformed input; the decoder is unusable afterwards.
   */
  decode(block: Buffer): Header[] {
    const headers: Header[] = [];
    this.decodeInto(block, headers);
    return headers;
  }

  /**
   * decode() into `out`, a list the caller keeps for block after block: the block's headers go
   * to out[0…n) and n is returned; what lies past n is left from earlier blocks. A list grown
   * by push per block made room for 16 headers each time, a few hundred bytes per call for
   * lists most of whose headers the proxy's tap drops anyway.
   */
  decodeInto(block: Buffer, out: Header[], start = 0, end = block.length): number {
    this.checkUsable();
    try {
      return this.decodeBlock(block, out, start, end);
    } catch (err) {
      throw this.fail(err);
    }
  }

  /**
   * Keeps the table in step with one header block without building its header list, and
   * returns the block's `:path` value ('' when it has none). Literals that are not indexed
   * and are not `:path` are skipped unread (their Huffman coding is not checked); everything
   * that changes the table is read exactly as decode() reads it.
   *
   * Both read block[start…end): the proxy's frame reader passes the chunk a header block lies
   * in rather than a view of it (a Buffer per HEADERS frame).
   */
  skim(block: Buffer, start = 0, end = block.length): string {
    this.checkUsable();
    try {
      return this.skimBlock(block, start, end);
    } catch (err) {
      throw this.fail(err);
    }
  }

  private checkUsable(): void {
    if (this.failed) throw new HpackError('critap: hpack: decoder is unusable after an earlier error on this connection');
  }

  private fail(err: unknown): HpackError {
    this.failed = true;
    this.changes++;
    if (err instanceof HpackError) return err;
    // Huffman errors, or anything unforeseen: the contract is that only HpackError escapes.
    const message = err instanceof Error ? err.message : String(err);
    return new HpackError(message.startsWith('critap:') ? message : `critap: hpack: ${message}`);
  }

  private decodeBlock(block: Buffer, out: Header[], start: number, end: number): number {
    let n = 0;
    this.end = end;
    this.pos = start;
    while (this.pos < end) {
      const first = block[this.pos]!;
      if (first & 0x80) {
        out[n++] = this.entry(this.readIndex(block));
      } else if (first & 0x40) {
        const name = this.readName(block, 6);
        const entry: Header = [name, this.readString(block)];
        this.insert(entry);
        out[n++] = entry;
      } else if (first & 0x20) {
        if (n !== 0) throw new HpackError('critap: hpack: dynamic table size update after a header field');
        this.sizeUpdate(block);
      } else {
        const name = this.readName(block, 4);
        out[n++] = [name, this.readString(block)];
      }
    }
    return n;
  }

  private skimBlock(block: Buffer, start: number, end: number): string {
    let path = '';
    let fields = 0;
    this.end = end;
    this.pos = start;
    while (this.pos < end) {
      const first = block[this.pos]!;
      if (first & 0x80) {
        // An index into the table is checked as decode() checks it; only `:path` is read.
        const entry = this.entry(this.readIndex(block));
        if (entry[0] === ':path') path = entry[1];
      } else if (first & 0x40) {
        const name = this.readName(block, 6);
        const entry: Header = [name, this.readString(block)];
        this.insert(entry);
        if (name === ':path') path = entry[1];
      } else if (first & 0x20) {
        if (fields !== 0) throw new HpackError('critap: hpack: dynamic table size update after a header field');
        this.sizeUpdate(block);
        continue;
      } else {
        const name = this.readName(block, 4);
        if (name === ':path') path = this.readString(block);
        else this.skipString(block);
      }
      fields++;
    }
    return path;
  }

  /** The index of an indexed field (§6.1); 0 is not an index. */
  private readIndex(block: Buffer): number {
    const index = this.readInteger(block, 7);
    if (index === 0) throw new HpackError('critap: hpack: indexed header field with index 0');
    return index;
  }

  /** Dynamic table size update (§6.3) at this.pos. */
  private sizeUpdate(block: Buffer): void {
    const size = this.readInteger(block, 5);
    if (size > this.maxCapacity) {
      throw new HpackError(`critap: hpack: table size update to ${size} exceeds the allowed ${this.maxCapacity}`);
    }
    this.capacity = size;
    this.changes++;
    this.evictTo(size);
  }

  /** Header for HPACK index ≥ 1: static entries, then dynamic ones newest first. */
  private entry(index: number): Header {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1] as Header;
    const age = index - STATIC_COUNT - 1;
    if (age >= this.count) {
      throw new HpackError(`critap: hpack: index ${index} is beyond the ${STATIC_COUNT + this.count}-entry table`);
    }
    return this.entries[(this.head - age) & this.mask]!;
  }

  /** Name of a literal: an index into the table, or (index 0) a string literal. */
  private readName(block: Buffer, prefixBits: number): string {
    const index = this.readInteger(block, prefixBits);
    return index === 0 ? this.readString(block) : this.entry(index)[0];
  }

  /** String literal (§5.2): H flag, 7-bit-prefix length, then raw or Huffman-coded octets. */
  private readString(block: Buffer): string {
    const start = this.stringBounds(block);
    return this.huffman ? huffmanDecode(block, start, this.pos) : block.toString('latin1', start, this.pos);
  }

  /** A string literal passed over: its length is checked, its octets are not read. */
  private skipString(block: Buffer): void {
    this.stringBounds(block);
  }

  /** Where the block being read ends in its buffer (reads stop there, not at the buffer's end). */
  private end = 0;

  /** The last string literal read was Huffman-coded. */
  private huffman = false;

  /** Reads a string literal's H flag and length, moves past its octets and returns where they start. */
  private stringBounds(block: Buffer): number {
    if (this.pos >= this.end) throw new HpackError('critap: hpack: header block ends where a string was expected');
    this.huffman = (block[this.pos]! & 0x80) !== 0;
    const length = this.readInteger(block, 7);
    const start = this.pos;
    if (length > this.end - start) {
      throw new HpackError(`critap: hpack: ${length}-octet string runs past the end of the block (${this.end - start} left)`);
    }
    this.pos = start + length;
    return start;
  }

  /** Prefix-coded integer (§5.1) at this.pos; the caller has checked one byte is there. */
  private readInteger(block: Buffer, prefixBits: number): number {
    const limit = (1 << prefixBits) - 1;
    let value = block[this.pos++]! & limit;
    if (value < limit) return value;
    // 7 bits per continuation byte; five bytes already exceed MAX_INTEGER, so stop there
    // (this also bounds runs of redundant 0x80 bytes).
    for (let shift = 1; shift <= 2 ** 28; shift *= 128) {
      if (this.pos >= this.end) throw new HpackError('critap: hpack: header block ends inside an integer');
      const byte = block[this.pos++]!;
      value += (byte & 0x7f) * shift;
      if (value > MAX_INTEGER) throw new HpackError('critap: hpack: integer exceeds 2^31-1');
      if ((byte & 0x80) === 0) return value;
    }
    throw new HpackError('critap: hpack: integer encoding is too long');
  }

  /** Adds an entry (§4.4): evicts oldest entries to make room; an entry larger than the table empties it. */
  private insert(entry: Header): void {
    this.changes++;
    const entrySize = entry[0].length + entry[1].length + ENTRY_OVERHEAD;
    if (entrySize > this.capacity) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.capacity - entrySize);
    if (this.count === this.mask + 1) this.grow();
    this.head = (this.head + 1) & this.mask;
    this.entries[this.head] = entry;
    this.count++;
    this.size += entrySize;
  }

  /** Drops oldest entries until the table holds at most `limit` octets. */
  private evictTo(limit: number): void {
    while (this.size > limit) {
      const slot = (this.head - this.count + 1) & this.mask;
      const entry = this.entries[slot]!;
      this.size -= entry[0].length + entry[1].length + ENTRY_OVERHEAD;
      this.entries[slot] = EVICTED;
      this.count--;
    }
  }

  /** Doubles the ring, laying entries out oldest-first from slot 0. */
  private grow(): void {
    const cap = this.mask + 1;
    const entries = new Array<Header>(cap * 2);
    for (let age = this.count - 1, i = 0; age >= 0; age--, i++) entries[i] = this.entries[(this.head - age) & this.mask]!;
    this.entries = entries;
    this.mask = cap * 2 - 1;
    this.head = this.count - 1;
  }
}

/** What an evicted slot holds (never returned: the index check comes first). */
const EVICTED: Header = ['', ''];

function checkedTableSize(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) {
    throw new RangeError(`critap: hpack: header table size must be an integer in 0..2^32-1, got ${n}`);
  }
  return n;
}
