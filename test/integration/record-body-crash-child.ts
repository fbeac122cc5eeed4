/**
 * A recorder that dies mid-body, for record-orphan-bodies.test.ts: it stores one call whose large
 * answer is in a body file, then hands over parts of a second body whose call never ends, prints
 * "mid-body <bytes handed>" and waits to be killed.
 *
 * Usage: node record-body-crash-child.js <recording dir>
 */
import { openRecorder } from '../../src/record/recorder.js';
import { makeCall, T0, V1 } from '../unit/record-fixtures.js';
import { execAnswer } from '../support/exec-answer.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: record-body-crash-child <dir>\n');
  process.exit(2);
}
const PART = 64 * 1024;
const rec = await openRecorder({ dir });
const stored = execAnswer(Buffer.alloc(2 * 1024 * 1024, 0x61));
for (let i = 0; i < stored.length; i += PART) rec.onBodyPart(1, Buffer.from(stored.subarray(i, i + PART)));
const call = makeCall({ method: V1 + 'ExecSync', request: { containerId: 'c'.repeat(64), cmd: ['cat'] }, startNs: T0 });
call.responses = [{ offsetNs: 7, data: Buffer.alloc(0), spooled: { id: 1, length: stored.length } }];
rec.onCallEnd(call);
await rec.flush();
// Half of a 4 MiB body: its call is still running when the process dies.
let handed = 0;
for (; handed < 2 * 1024 * 1024; handed += PART) rec.onBodyPart(2, Buffer.alloc(PART, 0x62));
process.stdout.write(`mid-body ${handed}\n`);
setInterval(() => {}, 1000);
