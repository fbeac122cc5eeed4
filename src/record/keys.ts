/**
 * LevelDB key layout. Keys are plain strings so `ldb scan` output stays readable.
 *
 *   c<startNs, 20 digits>.<seq, 12 digits>   one call; sorts in start order, seq breaks ties
 *   x<kind>\0<value>\0<call key>             secondary index entry (empty value)
 *   m                                        counters (JSON)
 *
 * The seq counter lives in the meta entry so it never repeats across recorder sessions.
 */
export const CALL_PREFIX = 'c';
export const CALL_END = 'd'; // first key after every "c…" key
export const META_KEY = 'm';
const SEP = '\u0000';

/** Index kinds: pod name (also "namespace/name"), pod uid, sandbox id, container id, container name. */
export type IndexKind = 'p' | 'u' | 's' | 'c' | 'n';

export function callKey(startNs: bigint, seq: number): string {
  return `${CALL_PREFIX}${startNs.toString().padStart(20, '0')}.${seq.toString().padStart(12, '0')}`;
}

/** Bytes of a call key whose start time and seq fit their widths (every key a recorder writes). */
export const CALL_KEY_BYTES = 1 + 20 + 1 + 12;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_SEQ = 1e12 - 1;
const DIGIT_0 = 0x30;

/**
 * Writes callKey(startNs, seq) into the first CALL_KEY_BYTES of `out`, as the same ASCII bytes
 * LevelDB would get from the string, without making the string: callKey makes several strings per
 * call (the BigInt's digits, two paddings, the joined key, flattened again when LevelDB copies
 * it), garbage on the recorder's thread. False, and nothing written, when the key would not have
 * the usual width (a start before 1970 or past 2^64 ns, a seq of 13 digits): use callKey then.
 */
export function writeCallKey(out: Uint8Array, startNs: bigint, seq: number): boolean {
  if (startNs < 0n || startNs > MAX_UINT64 || !Number.isSafeInteger(seq) || seq < 0 || seq > MAX_SEQ) return false;
  out[0] = 0x63; // 'c'
  writeUint64Digits(out, 1, startNs);
  out[21] = 0x2e; // '.'
  let rest = seq;
  for (let i = CALL_KEY_BYTES - 1; i > 21; i--) {
    const digit = rest % 10;
    out[i] = DIGIT_0 + digit;
    rest = (rest - digit) / 10;
  }
  return true;
}

/** The BigInt's 64 bits, read as four 16-bit limbs (no BigInt arithmetic, which allocates). */
const u64 = new BigUint64Array(1);
const u32 = new Uint32Array(u64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const limbs = [0, 0, 0, 0];

/** 20 zero-padded decimal digits of a value in [0, 2^64), at out[at..at+20). */
function writeUint64Digits(out: Uint8Array, at: number, v: bigint): void {
  u64[0] = v;
  const hi = littleEndian ? u32[1]! : u32[0]!;
  const lo = littleEndian ? u32[0]! : u32[1]!;
  limbs[0] = hi >>> 16;
  limbs[1] = hi & 0xffff;
  limbs[2] = lo >>> 16;
  limbs[3] = lo & 0xffff;
  // Long division by 10 000, five times: each pass leaves the next four digits, lowest first.
  // Every intermediate stays below 10 000 × 65 536, exact in a double.
  for (let group = 4; group >= 0; group--) {
    let rem = 0;
    for (let i = 0; i < 4; i++) {
      const cur = rem * 65536 + limbs[i]!;
      const q = Math.floor(cur / 10000);
      rem = cur - q * 10000;
      limbs[i] = q;
    }
    for (let d = 3; d >= 0; d--) {
      const digit = rem % 10;
      out[at + group * 4 + d] = DIGIT_0 + digit;
      rem = (rem - digit) / 10;
    }
  }
}

/** Lowest call key at or after a start time, for `--since`. */
export function callKeyFrom(startNs: bigint): string {
  return `${CALL_PREFIX}${(startNs < 0n ? 0n : startNs).toString().padStart(20, '0')}`;
}

export function startNsOfKey(key: string): bigint {
  return BigInt(key.slice(1, 21));
}

export function seqOfKey(key: string): number {
  return Number(key.slice(22));
}

export function isCallKey(key: string): boolean {
  return /^c\d{20}\.\d{12}$/.test(key);
}

export function indexKey(kind: IndexKind, value: string, call: string): string {
  return `x${kind}${SEP}${value}${SEP}${call}`;
}

/** Range covering the index entries whose value equals `value` (or starts with it, for id prefixes). */
export function indexRange(kind: IndexKind, value: string, prefix: boolean): { gte: string; lt: string } {
  const base = `x${kind}${SEP}${value}`;
  return prefix ? { gte: base, lt: base + '\uffff' } : { gte: base + SEP, lt: base + SEP + '\uffff' };
}

/** The call key at the end of an index entry. */
export function callKeyOfIndex(key: string): string {
  return key.slice(key.lastIndexOf(SEP) + 1);
}
