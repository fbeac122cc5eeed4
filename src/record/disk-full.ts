/**
 * Whether a write failed because the filesystem is out of space (or quota). LevelDB reports it
 * as text ("IO error: …/000003.log: No space left on device"), node's fs as an errno code.
 */
const DISK_FULL_TEXT = /No space left on device|Disk quota exceeded|\bENOSPC\b|\bEDQUOT\b/;

export function isDiskFull(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true;
    if (typeof e.message === 'string' && DISK_FULL_TEXT.test(e.message)) return true;
  }
  return false;
}
