/**
 * How a reader learns that a recording lost calls.
 *
 * LevelDB (without paranoid checks, which classic-level does not expose) recovers a damaged log
 * by skipping the bad records and opening anyway, and the counters entry lives in that same log,
 * so the counters shrink with the calls and nothing inside LevelDB looks wrong. Two witnesses
 * outside the damaged data say otherwise:
 *  - LevelDB's own diagnostic LOG, written into the folder it just opened (our snapshot), has a
 *    "dropping N bytes" line for each skipped region;
 *  - counters.json, a copy of the counters the writer keeps beside db/, written after the
 *    batches it counts: it can lag behind LevelDB (a crash between the two) but never run ahead,
 *    so a counters.json that counts more recorded calls than LevelDB does means calls were lost.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const COUNTERS_FILE = 'counters.json';

/** What the witnesses saw; undefined fields had nothing to say. */
export interface Damage {
  /** Bytes of log LevelDB skipped when it opened. */
  droppedBytes: number;
  /** Calls the writer says it recorded, when counters.json says more than LevelDB. */
  expectedRecorded?: number;
  /** Calls LevelDB still counts as recorded. */
  recorded: number;
}

/** Sum of the "dropping N bytes" lines LevelDB wrote while recovering the database in dbDir. */
export async function droppedLogBytes(dbDir: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(join(dbDir, 'LOG'), 'utf8');
  } catch {
    return 0;
  }
  let total = 0;
  for (const m of text.matchAll(/dropping (\d+) bytes/g)) total += Number(m[1]);
  return total;
}

export interface SideCounters {
  recorded: number;
  calls: number;
}

export async function readSideCounters(dir: string): Promise<SideCounters | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, COUNTERS_FILE), 'utf8')) as Partial<SideCounters>;
    if (typeof parsed.recorded === 'number' && typeof parsed.calls === 'number') return { recorded: parsed.recorded, calls: parsed.calls };
  } catch {
    // A missing or torn side file only means one witness is silent (older recordings have none).
  }
  return undefined;
}

/** Temp file + rename, so a reader never sees half a file. */
export async function writeSideCounters(dir: string, c: SideCounters): Promise<void> {
  const tmp = join(dir, `.${COUNTERS_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify({ recorded: c.recorded, calls: c.calls }) + '\n');
  await rename(tmp, join(dir, COUNTERS_FILE));
}

/**
 * Both witnesses together; undefined when the recording looks whole. `side` must be read before
 * db/ is snapshotted: read later, it could count batches a live writer added after the snapshot.
 */
export async function findDamage(side: SideCounters | undefined, openedDbDir: string, recorded: number): Promise<Damage | undefined> {
  const droppedBytes = await droppedLogBytes(openedDbDir);
  const expectedRecorded = side && side.recorded > recorded ? side.recorded : undefined;
  if (droppedBytes === 0 && expectedRecorded === undefined) return undefined;
  return { droppedBytes, expectedRecorded, recorded };
}

export function describeDamage(dir: string, d: Damage, found: number, expectedCalls: number | undefined): string {
  const parts: string[] = [];
  if (expectedCalls !== undefined && expectedCalls > found) parts.push(`it holds ${found} of the ${expectedCalls} calls it should`);
  else if (d.expectedRecorded !== undefined) parts.push(`${d.expectedRecorded - d.recorded} recorded calls are missing`);
  else parts.push(`${found} calls are intact, an unknown number are lost`);
  if (d.droppedBytes > 0) parts.push(`LevelDB skipped ${d.droppedBytes} damaged bytes of its log`);
  return (
    `recording ${dir} is damaged: ${parts.join('; ')}. ` +
    `Add --salvage to read the intact calls anyway, e.g. critap export ${dir} --salvage | critap import - ${dir}-salvaged`
  );
}
