/**
 * Hands calls from the forwarding thread to the observer thread in batches, without cloning
 * bodies. Small bodies are copied once into one fresh ArrayBuffer per batch; a large body that
 * owns its whole ArrayBuffer (as the proxy's captured bodies do) is not copied at all: its buffer
 * is *moved*. Both kinds are transferred (not cloned) with the message, and the observer side gets
 * zero-copy Buffer views. Moving large bodies matters for memory: a copy would leave the original
 * 8 MiB behind on the forwarding thread until its next garbage collection. Pure: no threads here.
 */
import type { CallRecord, CallStart, SpooledBody, TimedMessage } from '../call.js';

/** Bodies from this size on are moved rather than copied (when they own their buffer). */
export const MOVE_BODY_BYTES = 64 * 1024;

/** [offsetNs, index into the batch's buffers, start in it, length, compressed, spooled body (data empty)] */
type PackedMessage = [number, number, number, number, boolean, SpooledBody?];
/** [spooled body id, index into the batch's buffers, start in it, length] */
type PackedPart = [number, number, number, number];

type PackedRecord = Omit<CallRecord, 'requests' | 'responses' | 'status'> & {
  requests: PackedMessage[];
  responses: PackedMessage[];
  status: { code: number; message: string; details?: Uint8Array };
};

export type PackedEvent = { start: CallStart } | { end: PackedRecord } | { part: PackedPart } | { abort: number };

export interface PackedBatch {
  events: PackedEvent[];
  /** [0] holds the small bodies back to back; the others are moved bodies. All go in the transfer list. */
  buffers: ArrayBuffer[];
}

/** A call began, a call ended, a part of a spooled body arrived, a spooled body will never be finished. */
export type ObservedEvent = { start: CallStart } | { end: CallRecord } | { part: { id: number; data: Buffer } } | { abort: number };

/** A body whose ArrayBuffer is its own (not a slice of a pool or of a larger chunk), worth moving. */
function ownsBuffer(data: Buffer): boolean {
  const ab = data.buffer;
  return data.length >= MOVE_BODY_BYTES && data.byteOffset === 0 && ab.byteLength === data.length && ab instanceof ArrayBuffer;
}

function ownsPartBuffer(data: Buffer): boolean {
  return data.byteOffset === 0 && data.buffer instanceof ArrayBuffer;
}

/**
 * Packs events for postMessage(batch, batch.buffers). With `move`, large bodies are moved: after
 * the transfer they are detached here (zero length), so nothing on this side may still use them.
 */
export function packBatch(events: readonly ObservedEvent[], opts: { move?: boolean } = {}): PackedBatch {
  const movable = opts.move ? ownsBuffer : () => false;
  // A part of a spooled body is alone in its ArrayBuffer even when shorter (a body's last part).
  const partMovable = opts.move ? ownsPartBuffer : () => false;
  let total = 0;
  for (const e of events) {
    if ('end' in e) {
      for (const m of e.end.requests) if (!movable(m.data)) total += m.data.length;
      for (const m of e.end.responses) if (!movable(m.data)) total += m.data.length;
    } else if ('part' in e && !partMovable(e.part.data)) {
      total += e.part.data.length;
    }
  }
  // allocUnsafeSlow: never a slice of Node's shared pool, which must not be transferred away.
  const bodies = Buffer.allocUnsafeSlow(total);
  const buffers: ArrayBuffer[] = [bodies.buffer];
  const moved = new Map<ArrayBuffer, number>();
  let at = 0;
  /** Where a body goes: [index into buffers, start]; large own buffers are moved, the rest copied. */
  const place = (data: Buffer, move = movable(data)): [number, number] => {
    if (move) {
      const ab = data.buffer as ArrayBuffer;
      let index = moved.get(ab);
      if (index === undefined) {
        index = buffers.push(ab) - 1;
        moved.set(ab, index);
      }
      return [index, 0];
    }
    data.copy(bodies, at);
    const start = at;
    at += data.length;
    return [0, start];
  };
  const pack = (list: TimedMessage[]): PackedMessage[] =>
    list.map((m) => {
      const [index, start] = place(m.data);
      const packed: PackedMessage = [m.offsetNs, index, start, m.data.length, m.compressed === true];
      if (m.spooled) packed.push(m.spooled);
      return packed;
    });
  const out: PackedEvent[] = events.map((e) => {
    if ('start' in e || 'abort' in e) return e;
    if ('part' in e) {
      const [index, start] = place(e.part.data, partMovable(e.part.data));
      return { part: [e.part.id, index, start, e.part.data.length] };
    }
    const { requests, responses, ...rest } = e.end;
    return { end: { ...rest, requests: pack(requests), responses: pack(responses) } };
  });
  return { events: out, buffers };
}

export function unpackBatch(batch: PackedBatch): ObservedEvent[] {
  const unpack = (list: PackedMessage[]): TimedMessage[] =>
    list.map(([offsetNs, index, start, length, compressed, spooled]) => {
      const m: TimedMessage = { offsetNs, data: Buffer.from(batch.buffers[index]!, start, length) };
      if (compressed) m.compressed = true;
      if (spooled) m.spooled = spooled;
      return m;
    });
  return batch.events.map((e): ObservedEvent => {
    if ('start' in e || 'abort' in e) return e;
    if ('part' in e) {
      const [id, index, start, length] = e.part;
      return { part: { id, data: Buffer.from(batch.buffers[index]!, start, length) } };
    }
    const { requests, responses, status, ...rest } = e.end;
    const record: CallRecord = { ...rest, requests: unpack(requests), responses: unpack(responses), status: { code: status.code, message: status.message } };
    if (status.details) record.status.details = Buffer.from(status.details.buffer, status.details.byteOffset, status.details.byteLength);
    return { end: record };
  });
}
