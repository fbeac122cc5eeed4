/**
 * Large bodies kept inside a call's value are stored brotli-compressed ("packed", value format 4,
 * binary-value.ts). Why: LevelDB's own threads pay per byte of a value, several times over: the
 * log record and its checksum, the memory table, snappy when it flushes, and again at every
 * compaction. A kubelet's relists (ListContainers, ListPodSandbox, ListImages on a busy node)
 * answer with 100-250 KB each, every second. Recording 3 000 ListContainers answers of 225 KB
 * (300 containers, random ids), the recorder alone, builds taking turns: 1 480 → 827 µs of CPU a
 * call when every answer differs (brotli at quality 0 takes about 260 µs of it on the recording
 * thread; LevelDB's threads went 1 110 → 310), 1 384 → 467 when the answer repeats (RecentBodies,
 * recent-bodies.ts), and 0.69× the disk. Quality 0 because it is the cheapest brotli: deflate at level 1
 * took 720 µs for 1/7.
 *
 * Bodies of PACK_FROM_BYTES and more are packed, when that saves at least a quarter; bodies from
 * SPOOL_FROM_BYTES (1 MiB) on go to files of their own (body-store.ts) and are never packed.
 * Reading one back (show, replay, export) unpacks it: about as long again as packing took.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import { SPOOL_FROM_BYTES } from '../proxy/capture-budget.js';
import { RecentBodies } from './recent-bodies.js';
import { ValueDecodeError } from './value-error.js';

/** Bodies from this size on are packed (below it, LevelDB's per-byte costs are smaller than brotli's per-call ones). */
export const PACK_FROM_BYTES = 32 * 1024;

/**
 * The body packed, or undefined: when it is too small to pack, large enough for a file of its own
 * (an inline body that large is one `critap import` is about to move to a file), or packing saves
 * less than a quarter.
 */
export function packBody(data: Buffer): Buffer | undefined {
  if (data.length < PACK_FROM_BYTES || data.length >= SPOOL_FROM_BYTES) return undefined;
  const known = recentlyPacked.find(data);
  if (known !== undefined) return known.length > 0 ? known : undefined;
  const packed = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 0, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } });
  const worth = packed.length <= data.length - (data.length >> 2);
  recentlyPacked.remember(data, worth ? packed : NOT_WORTH);
  return worth ? packed : undefined;
}

/**
 * A packed body unpacked, which must come to exactly `length` bytes (what the value's header
 * says). Damage is a ValueDecodeError; a damaged length cannot make it allocate more than that.
 */
export function unpackBody(stored: Buffer, length: number): Buffer {
  const known = recentlyUnpacked.find(stored);
  // A copy: every call read gets a body of its own, whatever its reader does with it.
  if (known !== undefined && known.length === length) return Buffer.from(known);
  let data: Buffer;
  try {
    data = brotliDecompressSync(stored, { maxOutputLength: Math.max(1, length) });
  } catch (err) {
    throw new ValueDecodeError(`a packed body of ${stored.length} bytes does not unpack to ${length} bytes: ${(err as Error).message}`);
  }
  if (data.length !== length) throw new ValueDecodeError(`a packed body unpacks to ${data.length} bytes, and the value says ${length}`);
  recentlyUnpacked.remember(stored, data);
  return Buffer.from(data);
}

/** Relists of a few kinds (containers, sandboxes, images, stats) take turns. */
const RECENT_BODIES = 4;
const recentlyPacked = new RecentBodies<Buffer>(RECENT_BODIES);
const recentlyUnpacked = new RecentBodies<Buffer>(RECENT_BODIES);
/** Remembered for a body packing did not shrink enough: it is not tried again. */
const NOT_WORTH = Buffer.alloc(0);
