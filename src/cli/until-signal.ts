import type { Logger } from '../log.js';

/**
 * Serves until SIGTERM or SIGINT, then stops gracefully: `stop()` gets the grace period to let
 * calls in flight finish. A second signal exits at once. Resolves to the exit code.
 */
export function runUntilSignal(logger: Logger, graceMs: number, stop: () => Promise<Record<string, unknown>>, stoppedMessage: string): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
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
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  });
}
