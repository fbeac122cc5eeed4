/**
 * Hands out one /24 of 10.88.0.0/16 (and a bridge name) per containerd instance, so
 * test files running in parallel processes never share a bridge or an address range.
 * A slot is a file created exclusively under /tmp/critap-cni-slots holding the owner's
 * pid; slots of dead owners are taken over.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export const SLOT_DIR = '/tmp/critap-cni-slots';

export interface CniSlot {
  index: number;
  bridge: string;
  subnet: string;
  file: string;
}

export function acquireCniSlot(): CniSlot {
  mkdirSync(SLOT_DIR, { recursive: true });
  // Slot 0 (10.88.0.0/24) is what a system containerd's default cni0 uses; stay off it.
  const start = 1 + Math.floor(Math.random() * 254);
  for (let i = 0; i < 254; i++) {
    const index = 1 + ((start - 1 + i) % 254);
    const file = join(SLOT_DIR, String(index));
    if (tryCreate(file) || (ownerDead(file) && (rmSync(file, { force: true }), tryCreate(file)))) {
      return { index, bridge: `critap-br${index}`, subnet: `10.88.${index}.0/24`, file };
    }
  }
  throw new Error(`critap: no free CNI slot in ${SLOT_DIR} (254 instances alive?)`);
}

export function releaseCniSlot(slot: CniSlot): void {
  rmSync(slot.file, { force: true });
}

/** Creates `file` exclusively, holding this process's pid; false when it exists already. */
export function tryCreate(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function ownerDead(file: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8'));
  } catch {
    return false; // vanished or unreadable right now: leave it alone
  }
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
