import { openRecording } from '../../src/record/reader.js';
import type { StoredCall } from '../../src/record/stored-call.js';

/** Every call of a recording, oldest first, the recording closed again whatever happens. */
export async function readAllCalls(dir: string): Promise<StoredCall[]> {
  const rec = await openRecording(dir);
  try {
    const out: StoredCall[] = [];
    for await (const c of rec.calls()) out.push(c);
    return out;
  } finally {
    await rec.close();
  }
}
