/**
 * The two outer layers of cleanup every real-runtime instance (containerd, CRI-O) gets, so
 * nothing outlives the test process: an 'exit'/signal hook that cleans up synchronously if a test
 * crashes, and a detached watchdog that runs runtime-cleanup.js on the instance's state file if
 * the process is killed outright. The instance's own stop() is the inner layer.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guardUntilExit } from './exit-guard.js';
import { cleanupInstanceSync, type InstanceState } from './runtime-cleanup.js';

export interface InstanceGuard {
  /** Synchronous full cleanup (kill, unmount, bridge, folder, slot); stops guarding. Idempotent. */
  cleanup(): void;
}

/** Guards an instance whose folder already exists: writes `<dir>/instance.json`, hooks and watchdog. */
export function guardInstance(state: InstanceState): InstanceGuard {
  const stateFile = join(state.dir, 'instance.json');
  writeFileSync(stateFile, JSON.stringify(state));
  const guard = guardUntilExit({
    name: 'critap-watchdog',
    script: fileURLToPath(new URL('./runtime-cleanup.js', import.meta.url)),
    stateFile,
    cleanupSync: () => cleanupInstanceSync(state),
  });
  return { cleanup: guard.cleanup };
}
