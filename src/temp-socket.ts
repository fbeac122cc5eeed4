/**
 * The default listen socket of the library's proxy() and replay(): a socket path in a fresh
 * folder of our own under the system temp dir. The folder is made for this one socket, so
 * removing it when the server closes (or fails to start) cannot touch anything of the user's,
 * and a test suite that starts hundreds of servers leaves nothing behind in /tmp.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempSocket {
  /** Where to listen: `fileName` inside the private folder. */
  readonly path: string;
  /** Removes the folder and whatever the server left in it; harmless to call again. */
  remove(): Promise<void>;
}

/** A private folder `<tmpdir>/<prefix>XXXXXX` holding the socket path `fileName` (not yet created). */
export async function makeTempSocket(prefix: string, fileName: string): Promise<TempSocket> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return {
    path: join(dir, fileName),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
