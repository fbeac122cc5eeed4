import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingError } from '../../src/record/errors.js';
import { openRecording } from '../../src/record/reader.js';
import { createRecording } from '../../src/record/writer.js';
import { T0, versionCall } from './record-fixtures.js';

const CALLS = 40;

/** A recording of CALLS calls, one batch each (so the log holds CALLS records and CALLS counters entries). */
async function recording(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'critap-damage-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const w = await createRecording(dir);
  for (let i = 0; i < CALLS; i++) await w.append(versionCall(T0 + BigInt(i) * 1000n));
  await w.close();
  return dir;
}

/** Flips one byte of db/'s log at the given fraction of its length, as bad luck on a disk would. */
async function flipLogByte(dir: string, at: number): Promise<void> {
  const log = (await readdir(join(dir, 'db'))).find((n) => n.endsWith('.log'));
  assert.ok(log, 'the recording has a LevelDB log');
  const p = join(dir, 'db', log);
  const bytes = await readFile(p);
  bytes[Math.floor(bytes.length * at)]! ^= 0xff;
  await writeFile(p, bytes);
}

async function countCalls(dir: string, salvage: boolean): Promise<{ n: number; damage?: string }> {
  const r = await openRecording(dir, { salvage });
  try {
    let n = 0;
    for await (const _ of r.calls()) n++;
    return { n, damage: r.damage };
  } finally {
    await r.close();
  }
}

function isDamageError(dir: string, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof RecordingError, String(e));
    assert.match(e.message, new RegExp(`recording ${dir} is damaged`));
    assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /critap-read-|critap-replay-/, 'names the recording, not a temp snapshot');
    assert.match(e.message, /--salvage/);
    return true;
  };
}

test('a flipped byte late in the log (the counters entry lost too) is reported with how many calls should be there', async (t) => {
  const dir = await recording(t);
  await flipLogByte(dir, 0.9);
  await assert.rejects(countCalls(dir, false), isDamageError(dir, new RegExp(`holds \\d+ of the ${CALLS} calls`)));
  const salvaged = await countCalls(dir, true);
  assert.ok(salvaged.n > 0 && salvaged.n < CALLS, `salvage reads the intact calls (${salvaged.n})`);
  assert.match(salvaged.damage ?? '', new RegExp(`holds ${salvaged.n} of the ${CALLS} calls`));
});

test('a flipped byte early in the log (later counters intact) is reported too', async (t) => {
  const dir = await recording(t);
  await flipLogByte(dir, 0.1);
  await assert.rejects(countCalls(dir, false), isDamageError(dir, /LevelDB skipped \d+ damaged bytes/));
  const salvaged = await countCalls(dir, true);
  assert.ok(salvaged.n > 0 && salvaged.n < CALLS, `salvage reads the intact calls (${salvaged.n})`);
});

test('a damaged recording is not opened for writing (LevelDB would compact the damage out of sight)', async (t) => {
  const dir = await recording(t);
  await flipLogByte(dir, 0.5);
  await assert.rejects(createRecording(dir), isDamageError(dir, /not opened for writing/));
  // Still detectable afterwards: the refusal changed nothing.
  await assert.rejects(countCalls(dir, false), isDamageError(dir, /damaged/));
});

test('a whole recording reads without a damage note, also while counters.json lags behind', async (t) => {
  const dir = await recording(t);
  assert.deepEqual(await countCalls(dir, false), { n: CALLS, damage: undefined });
  // A crash between a batch and the side file leaves counters.json behind LevelDB: no false alarm.
  await writeFile(join(dir, 'counters.json'), JSON.stringify({ recorded: 3, calls: 3 }));
  assert.deepEqual(await countCalls(dir, false), { n: CALLS, damage: undefined });
});

test('a LevelDB error names the recording\'s db/, not the temp snapshot it was read from', async (t) => {
  const dir = await recording(t);
  await writeFile(join(dir, 'db', 'CURRENT'), 'MANIFEST-999999\n');
  await assert.rejects(countCalls(dir, false), (e: unknown) => {
    assert.ok(e instanceof RecordingError);
    assert.match(e.message, new RegExp(`${join(dir, 'db', 'MANIFEST-999999')}: No such file`));
    assert.doesNotMatch(e.message, /critap-read-/);
    return true;
  });
});
