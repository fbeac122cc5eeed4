/**
 * Temp folders for a test file's sockets and recordings, removed when its process exits.
 * node --test runs each test file in a process of its own, so 'exit' comes once every test of
 * the file is done with them; a test needs no after() hook of its own, and a failed test
 * leaves nothing behind either. (A process killed by a signal still leaks: nothing runs then.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

/** A fresh `<tmpdir>/<prefix>XXXXXX`, removed with its contents at process exit. */
export function tempDir(prefix: string): string {
  if (made.size === 0) process.once('exit', removeTempDirs);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

function removeTempDirs(): void {
  // 'exit' handlers must be synchronous; force: a test may already have removed its folder.
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}
