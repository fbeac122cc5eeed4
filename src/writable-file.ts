/**
 * Checks, at start, that a file critap writes only at the end (replay --misses) can be written:
 * found out at shutdown, the failure would lose what the whole run collected.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export class WritableFileError extends Error {
  readonly usage = true;
}

export async function checkWritableFile(path: string, flag: string): Promise<void> {
  const full = resolve(path);
  const existing = await stat(full).catch(() => undefined);
  if (existing?.isDirectory()) throw new WritableFileError(`critap: ${flag} ${path} is a folder; name a file in it`);
  const target = existing ? full : dirname(full);
  try {
    if (!existing && !(await stat(target)).isDirectory()) throw new Error('not a folder');
    await access(target, constants.W_OK);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be written (${(err as Error).message})`;
    throw new WritableFileError(`critap: ${flag} ${path}: ${existing ? 'the file' : `the folder ${target}`} ${why}`);
  }
}
