/**
 * Hands calls from the forwarding thread to the observer thread in batches. All bodies of a batch
 * are copied once into one fresh ArrayBuffer that is *transferred* (not cloned) with the message;
 * the observer side gets zero-copy Buffer views into it. Pure: no threads here.
 */
import type { CallRecord, CallStart, TimedMessage } from '../call.js';

/** [offsetNs, start in the batch's body buffer, length, compressed] */
type PackedMessage = [number, number, number, boolean];

type PackedRecord = Omit<CallRecord, 'requests' | 'responses' | 'status'> & {
  requests: PackedMessage[];
  responses: PackedMessage[];
  status: { code: number; message: string; details?: Uint8Array };
};

export type PackedEvent = { start: CallStart } | { end: PackedRecord };

export interface PackedBatch {
  events: PackedEvent[];
  bodies: ArrayBuffer;
}

export type ObservedEvent = { start: CallStart } | { end: CallRecord };

export function packBatch(events: readonly ObservedEvent[]): PackedBatch {
  let total = 0;
  for (const e of events) {
    if ('end' in e) {
      for (const m of e.end.requests) total += m.data.length;
      for (const m of e.end.responses) total += m.data.length;
    }
  }
  // allocUnsafeSlow: never a slice of Node's shared pool, which must not be transferred away.
  const bodies = Buffer.allocUnsafeSlow(total);
  let at = 0;
  const pack = (list: TimedMessage[]): PackedMessage[] =>
    list.map((m) => {
      m.data.copy(bodies, at);
      const packed: PackedMessage = [m.offsetNs, at, m.data.length, m.compressed === true];
      at += m.data.length;
      return packed;
    });
  const out: PackedEvent[] = events.map((e) => {
    if ('start' in e) return e;
    const { requests, responses, ...rest } = e.end;
    return { end: { ...rest, requests: pack(requests), responses: pack(responses) } };
  });
  return { events: out, bodies: bodies.buffer };
}

export function unpackBatch(batch: PackedBatch): ObservedEvent[] {
  const unpack = (list: PackedMessage[]): TimedMessage[] =>
    list.map(([offsetNs, start, length, compressed]) => {
      const m: TimedMessage = { offsetNs, data: Buffer.from(batch.bodies, start, length) };
      if (compressed) m.compressed = true;
      return m;
    });
  return batch.events.map((e) => {
    if ('start' in e) return e;
    const { requests, responses, status, ...rest } = e.end;
    const record: CallRecord = { ...rest, requests: unpack(requests), responses: unpack(responses), status: { code: status.code, message: status.message } };
    if (status.details) record.status.details = Buffer.from(status.details.buffer, status.details.byteOffset, status.details.byteLength);
    return { end: record };
  });
}
