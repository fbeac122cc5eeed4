/**
 * A process that records continuously, for record-crash.test.ts: it hands a StartContainer call
 * to the recorder every few ms and prints "handed N" right after each onCallEnd. On SIGTERM it
 * stops, closes the recorder (which must flush everything) and prints "closed".
 *
 * Usage: node record-writer-child.js <recording dir> [--hold]   (--hold: just keep the folder open)
 */
import { openRecorder } from '../../src/record/recorder.js';
import { startContainer, T0 } from '../unit/record-fixtures.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: record-writer-child <dir> [--hold]\n');
  process.exit(2);
}
const rec = await openRecorder({ dir });
const hold = process.argv.includes('--hold');
let seq = 0;
const timer = setInterval(() => {
  if (hold) return;
  rec.onCallEnd(startContainer(`ctr-${seq}`, T0 + BigInt(seq)));
  process.stdout.write(`handed ${seq}\n`);
  seq++;
}, 3);
process.on('SIGTERM', () => {
  clearInterval(timer);
  void rec.close().then(() => {
    process.stdout.write(`closed ${rec.stats().recorded}\n`);
    process.exit(0);
  });
});
process.stdout.write('ready\n');
