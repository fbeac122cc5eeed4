/**
 * Every problem with a recording folder becomes a RecordingError whose message names the
 * folder, so the CLI can print it as is and a library user can tell it from a bug.
 */
export class RecordingError extends Error {
  constructor(
    readonly dir: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`critap: ${detail}`, options);
    this.name = 'RecordingError';
  }
}
