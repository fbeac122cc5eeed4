/**
 * The two outer layers of cleanup a test harness gives what it starts, so nothing outlives the
 * test process: an 'exit'/signal hook that runs the harness's synchronous cleanup if a test
 * crashes, and a detached watchdog that runs the harness's cleanup script on its state file if the
 * process is killed outright (SIGKILL leaves no hook to run). The harness's own stop() is the
 * inner layer. Used by the runtime harnesses (instance-guard.ts) and the kubelet's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { killAll } from './runtime-cleanup.js';

const cleanups = new Set<() => void>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const cleanAll = (): void => {
    for (const c of [...cleanups]) c();
    cleanups.clear();
  };
  process.on('exit', cleanAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      cleanAll();
      // Only play the default "die on signal" part if nobody else handles it.
      if (process.listenerCount(sig) === 1) process.exit(128 + osConstants.signals[sig]);
    });
  }
}

/** A detached `tail --pid` that waits for this process to die, then runs `node <script> <stateFile>`. */
function startWatchdog(name: string, script: string, stateFile: string): ChildProcess {
  const child = spawn(
    'bash',
    ['-c', 'tail --pid="$1" -f /dev/null; exec "$2" "$3" "$4"', name, String(process.pid), process.execPath, script, stateFile],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  return child;
}

export interface ExitGuard {
  /** Runs the synchronous cleanup now (once) and stops guarding. */
  cleanup(): void;
  /** Stops guarding without cleaning up (the harness's stop() did it). */
  release(): void;
}

/**
 * Guards something a harness started: `cleanupSync` runs on exit or signal, and the watchdog runs
 * `script` (a compiled cleanup module taking the state file) if the process dies without either.
 */
export function guardUntilExit(o: { name: string; script: string; stateFile: string; cleanupSync: () => void }): ExitGuard {
  installExitHooks();
  let done = false;
  const watchdog = startWatchdog(o.name, o.script, o.stateFile);
  const stopWatching = () => {
    if (watchdog.pid) killAll([-watchdog.pid], 'SIGKILL');
  };
  const run = () => {
    if (done) return;
    done = true;
    cleanups.delete(run);
    stopWatching();
    o.cleanupSync();
  };
  cleanups.add(run);
  return {
    cleanup: run,
    release() {
      if (done) return;
      done = true;
      cleanups.delete(run);
      stopWatching();
    },
  };
}
