/**
 * Readers open a snapshot of db/, never db/ itself. LevelDB writes on every open (a new log and
 * manifest, a rotated LOG, a lock), which would modify recordings shipped in git and collide with
 * a proxy that is recording into the folder right now. LevelDB never changes a file in place once
 * a newer one exists, so hard links (or copies across file systems) give a consistent,
 * cheap snapshot; a log the writer is still appending to ends, at worst, in a partial record,
 * which LevelDB's recovery drops.
 */
import { copyFile, link, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function snapshotDb(dbDir: string): Promise<string> {
  const snap = await mkdtemp(join(tmpdir(), 'critap-read-'));
  try {
    for (const name of await readdir(dbDir)) {
      if (name === 'LOCK' || name === 'LOG' || name === 'LOG.old') continue;
      const from = join(dbDir, name);
      const to = join(snap, name);
      try {
        await link(from, to);
      } catch {
        await copyFile(from, to);
      }
    }
  } catch (err) {
    await rm(snap, { recursive: true, force: true });
    throw err;
  }
  return snap;
}

export async function removeSnapshot(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
