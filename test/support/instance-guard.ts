/**
 * The two outer layers of cleanup every real-runtime instance (containerd, CRI-O) gets, so
 * nothing outlives the test process: an 'exit'/signal hook that cleans up synchronously if a test
 * crashes, and a detached watchdog that runs runtime-cleanup.js on the instance's state file if
 * the process is killed outright. The instance's own stop() is the inner layer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupInstanceSync, killAll, type InstanceState } from './runtime-cleanup.js';

const live = new Set<InstanceState>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const cleanAll = (): void => {
    for (const s of live) cleanupInstanceSync(s);
    live.clear();
  };
  process.on('exit', cleanAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanAll();
      // Only play the default "die on signal" part if nobody else handles it.
      if (process.listenerCount(sig) === 1) process.exit(128 + osConstants.signals[sig]);
    };
    process.on(sig, onSignal);
  }
}

/** A detached `tail --pid` that waits for this process to die, then runs the cleanup script. */
function startWatchdog(stateFile: string): ChildProcess {
  const cleanupScript = fileURLToPath(new URL('./runtime-cleanup.js', import.meta.url));
  const child = spawn(
    'bash',
    ['-c', 'tail --pid="$1" -f /dev/null; exec "$2" "$3" "$4"', 'critap-watchdog',
      String(process.pid), process.execPath, cleanupScript, stateFile],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  return child;
}

export interface InstanceGuard {
  /** Synchronous full cleanup (kill, unmount, bridge, folder, slot); stops guarding. Idempotent. */
  cleanup(): void;
}

/** Guards an instance whose folder already exists: writes `<dir>/instance.json`, hooks and watchdog. */
export function guardInstance(state: InstanceState): InstanceGuard {
  installExitHooks();
  live.add(state);
  writeFileSync(join(state.dir, 'instance.json'), JSON.stringify(state));
  const watchdog = startWatchdog(join(state.dir, 'instance.json'));
  return {
    cleanup() {
      if (watchdog.pid) killAll([-watchdog.pid], 'SIGKILL');
      cleanupInstanceSync(state);
      live.delete(state);
    },
  };
}
