/**
 * Turns a recording's stored values back into the JSON header an older critap wrote (value
 * formats 1 and 2, call-codec.ts encodeJsonValue), call by call, so tests can read a recording as
 * the previous revision left it. Index entries and counters stay (they do not depend on the
 * value's format). The recording must be closed.
 */
import { join } from 'node:path';
import { Level } from 'level';
import { decodeCallValue, decodeValueHeader, encodeJsonValue } from '../../src/record/call-codec.js';
import { CALL_END, CALL_PREFIX } from '../../src/record/keys.js';

/** Rewrites every call value as JSON; returns how many it rewrote. */
export async function storeValuesAsJson(dir: string): Promise<number> {
  const db = new Level<string, Buffer>(join(dir, 'db'), { valueEncoding: 'buffer' });
  await db.open();
  try {
    const ops: Array<{ type: 'put'; key: string; value: Buffer }> = [];
    for await (const [key, value] of db.iterator({ gte: CALL_PREFIX, lt: CALL_END })) {
      // Bodies kept in files stay there: the value only names them (format 2).
      const call = decodeCallValue(key, value, (_file, length) => Buffer.alloc(length));
      const spooled = (list: typeof call.requests, refs: unknown[][]) =>
        list.map((m, i) => (typeof refs[i]?.[3] === 'string' ? { ...m, data: Buffer.alloc(0), spooled: { id: 0, length: m.data.length, file: refs[i]![3] as string } } : m));
      const { header } = decodeValueHeader(value);
      const json = encodeJsonValue({ ...call, requests: spooled(call.requests, header.requests), responses: spooled(call.responses, header.responses) }, call.ids, call.redacted);
      ops.push({ type: 'put', key, value: json });
    }
    await db.batch(ops);
    return ops.length;
  } finally {
    await db.close();
  }
}
