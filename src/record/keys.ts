/**
 * LevelDB key layout. Keys are plain strings so `ldb scan` output stays readable.
 *
 *   c<startNs, 20 digits>.<seq, 12 digits>   one call; sorts in start order, seq breaks ties
 *   x<kind>\0<value>\0<call key>             secondary index entry (empty value)
 *   m                                        counters (JSON)
 *   f<body file name>                        how many stored calls name that body file, when it is
 *                                            a repeated body kept once (shared-files.ts); decimal
 *
 * The seq counter lives in the meta entry so it never repeats across recorder sessions.
 */
export const CALL_PREFIX = 'c';
export const CALL_END = 'd'; // first key after every "c…" key
export const META_KEY = 'm';
export const SHARED_FILE_PREFIX = 'f';
export const SHARED_FILE_END = 'g';
const SEP = '\u0000';

/** Index kinds: pod name (also "namespace/name"), pod uid, sandbox id, container id, container name. */
export type IndexKind = 'p' | 'u' | 's' | 'c' | 'n';

export function callKey(startNs: bigint, seq: number): string {
  return `${CALL_PREFIX}${startNs.toString().padStart(20, '0')}.${seq.toString().padStart(12, '0')}`;
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
