/**
 * The ids a recorded ListContainerStats or ListPodSandboxStats answer lists, read off the wire
 * without decoding the rest. Why: a kubelet polls stats every 10 s and no two answers are the
 * same, so an hour of a 150-pod node holds 360 answers of ~100 KB; decoding each one whole at
 * replay's start, only to file it under the ids it shows (its list key), was half of that start.
 * Replay decodes a stats answer only when it needs an item of it (RecordedWorld.item).
 */
import { lightType, type LightField, type LightType } from '../../cri/light-schema.js';
import { readField, WIRE_LEN } from '../../cri/proto-wire.js';

/** Field numbers of answer.stats, stats.attributes and attributes.id in this answer type. */
interface IdPath {
  stats: number;
  attributes: number;
  id: number;
}

const paths = new Map<string, IdPath | undefined>();

function field(type: LightType | undefined, name: string): LightField | undefined {
  return type?.fields.find((f) => f.name === name);
}

function idPath(responseType: string): IdPath | undefined {
  if (paths.has(responseType)) return paths.get(responseType);
  const stats = field(lightType(responseType), 'stats');
  const attributes = field(stats?.resolved as LightType | undefined, 'attributes');
  const id = field(attributes?.resolved as LightType | undefined, 'id');
  const path = stats && attributes && id && id.type === 'string' ? { stats: stats.id, attributes: attributes.id, id: id.id } : undefined;
  paths.set(responseType, path);
  return path;
}

/**
 * The id of each item, in order, as decoding would give them (an item whose attributes carry
 * no id, or an empty one, gives none); throws CodecError on bytes that are not a valid encoding,
 * and an Error for a type with no stats → attributes → id path.
 */
export function statsIds(responseType: string, data: Uint8Array): string[] {
  const path = idPath(responseType);
  if (!path) throw new Error(`${responseType} lists no stats with attributes and an id`);
  const ids: string[] = [];
  eachLen(data, 0, data.length, path.stats, (start, end) => {
    // A message field that appears more than once is merged: the last id wins.
    let id = '';
    eachLen(data, start, end, path.attributes, (a, b) => eachLen(data, a, b, path.id, (s, e) => (id = Buffer.from(data.buffer, data.byteOffset + s, e - s).toString('utf8'))));
    if (id !== '') ids.push(id);
  });
  return ids;
}

/** Calls `fn` with the payload of each length-delimited occurrence of field `fieldNo` in [pos, limit). */
function eachLen(buf: Uint8Array, pos: number, limit: number, fieldNo: number, fn: (start: number, end: number) => void): void {
  while (pos < limit) {
    const f = readField(buf, pos, limit);
    if (f.fieldNo === fieldNo && f.wireType === WIRE_LEN) fn(f.dataStart, f.end);
    pos = f.end;
  }
}
