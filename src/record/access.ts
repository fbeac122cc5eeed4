/**
 * Permission problems told apart from damage. LevelDB reports them as IO errors whose text ends
 * in "Permission denied" (no errno code survives), Node as EACCES/EPERM/EROFS.
 */
export function accessProblem(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && /Permission denied|Read-only file system|Operation not permitted/i.test(message);
}

export function describeAccessProblem(dir: string, detail: string): string {
  return `cannot open recording ${dir}: permission denied (${detail}). The recording is not damaged: ` +
    `run as a user who may read (and, to record, write) ${dir}, or copy it somewhere writable`;
}
