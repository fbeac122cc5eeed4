import { openRecording, type RecordingReader } from '../record/reader.js';

/** The --salvage flag of the commands that read a recording, for parseCommandArgs. */
export const SALVAGE_FLAG = { salvage: { type: 'boolean' } } as const;

export const SALVAGE_HELP = `  --salvage         read a damaged recording anyway: every intact call, with a warning on
                    stderr saying what was lost (without it, a damaged recording is an error)`;

/** Opens for a command; a salvaged recording's loss is said once on stderr before any output. */
export async function openForCommand(dir: string, salvage: boolean | undefined, command: string): Promise<RecordingReader> {
  const rec = await openRecording(dir, {
    salvage: salvage === true,
    // Body files are only found missing as their calls are read: each is said when it is.
    onLostBody: (message) => process.stderr.write(`critap ${command}: warning: ${message} (--salvage)\n`),
  });
  if (rec.damage) {
    process.stderr.write(`critap ${command}: warning: ${rec.damage.replace(/ Add --salvage.*$/, '')} Reading the intact calls only (--salvage).\n`);
  }
  return rec;
}
