import { createReadStream } from 'node:fs';
import type { Command } from './main.js';
import { parseCommandArgs, UsageError } from './args.js';
import { callFromJsonl, JsonlError } from '../record/jsonl.js';
import { Progress } from '../record/progress.js';
import { textLines } from '../record/text-lines.js';
import { createRecording } from '../record/writer.js';
import { createLogger } from '../log.js';

/** Calls per LevelDB batch while importing. */
const BATCH = 500;
/**
 * JSONL text per batch, too: a batch's calls are held whole (and their base64 text until parsed),
 * so 500 lines of 8 MiB answers would hold GiBs at once; large bodies go to files anyway.
 */
const BATCH_TEXT = 16 * 1024 * 1024;

export const command: Command = {
  help: `Usage: critap import <file.jsonl|-> <recording>

Reads calls written by 'critap export --format jsonl' (use - for stdin) and appends them to
the recording, creating it if the folder is missing or empty. Message bytes, ids and
redaction flags are kept exactly as exported; the "view" objects are ignored. Bodies of
1 MiB or more go to body files in bodies/, as when recording.
A call already in the recording (same start time, same bytes) is skipped, so importing a
file twice does not double it. A malformed line stops the import with its line number;
calls before it stay imported.

Examples:
  critap import rec.jsonl ./rec-copy
  critap export ./rec --method PullImage | critap import - ./pulls
`,
  async run(argv) {
    const { positionals } = parseCommandArgs(argv, {});
    if (positionals.length !== 2) throw new UsageError('wants a JSONL file (or -) and a recording folder');
    const [file, dir] = positionals as [string, string];
    const input = file === '-' ? process.stdin : createReadStream(file);
    const opened = new Promise<void>((resolve, reject) => {
      if (file === '-') return resolve();
      input.once('open', () => resolve());
      input.once('error', (err: Error) => reject(new Error(`critap: cannot read ${file}: ${err.message}`)));
    });
    await opened;
    const writer = await createRecording(dir, createLogger({ level: 'info' }));
    const progress = new Progress('imported');
    let n = 0;
    let skipped = 0;
    let lineNo = 0;
    const append = async (batch: ReturnType<typeof callFromJsonl>[]) => {
      const r = await writer.appendNew(...batch);
      n += r.added;
      skipped += r.skipped;
    };
    try {
      let batch: ReturnType<typeof callFromJsonl>[] = [];
      let batchText = 0;
      for await (const line of textLines(input)) {
        lineNo++;
        if (line.trim() === '') continue;
        try {
          batch.push(callFromJsonl(line, lineNo));
        } catch (err) {
          // Keep the promise of the help text: every good line before the bad one is imported.
          if (batch.length > 0) await append(batch);
          throw err;
        }
        batchText += line.length;
        if (batch.length >= BATCH || batchText >= BATCH_TEXT) {
          await append(batch);
          batch = [];
          batchText = 0;
          progress.update(n);
        }
      }
      if (batch.length > 0) await append(batch);
    } catch (err) {
      if (err instanceof JsonlError) throw new Error(`critap: ${file} ${err.message} (imported ${n} calls before it into ${dir})`);
      throw err;
    } finally {
      await writer.close();
    }
    progress.done(n);
    process.stderr.write(`imported ${n} calls into ${dir}${skipped > 0 ? `; skipped ${skipped} already in it (same start time and bytes)` : ''}\n`);
    return 0;
  },
};
