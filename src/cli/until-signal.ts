import type { Logger } from '../log.js';

export interface StopSignals {
  /**
   * Serves until SIGTERM or SIGINT, then stops gracefully: `stop()` gets the grace period to let
   * calls in flight finish. A signal that came while the server was starting stops it at once.
   * A second signal exits at once. Resolves to the exit code.
   */
  runUntil(logger: Logger, graceMs: number, stop: () => Promise<Record<string, unknown>>, stoppedMessage: string): Promise<number>;
  /** Start-up failed: the handlers go, and the default action (exit) is back. */
  release(): void;
}

/**
 * Takes SIGTERM and SIGINT from the moment it is called, before the server starts. The socket
 * appears (and clients connect, and a service manager may send SIGTERM) while start-up still
 * runs (the observer thread, the recording, telemetry); without handlers by then, Node's default
 * action killed the process there, with no "stopping" line and no clean-up.
 */
export function catchStopSignals(): StopSignals {
  let early: string | undefined;
  let onSignal: (signal: string) => void = (signal) => {
    if (early !== undefined) process.exit(1); // a second signal while starting
    early = signal;
  };
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  return {
    release() {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
    },
    runUntil(logger, graceMs, stop, stoppedMessage) {
      return new Promise<number>((resolve) => {
        let stopping = false;
        onSignal = (signal) => {
          if (stopping) {
            logger.warn('second signal: exiting now', { signal });
            process.exit(1);
          }
          stopping = true;
          logger.info('stopping: no new connections; letting calls in flight finish', { signal, graceMs });
          stop().then(
            (fields) => {
              logger.info(stoppedMessage, fields);
              resolve(0);
            },
            (err: unknown) => {
              logger.error('error while stopping', { error: err instanceof Error ? err.message : String(err) });
              resolve(1);
            },
          );
        };
        if (early !== undefined) onSignal(early);
      });
    },
  };
}

/** Starts the server; when start-up fails, the signal handlers go with it. */
export async function startOrRelease<T>(signals: StopSignals, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    signals.release();
    throw err;
  }
}
