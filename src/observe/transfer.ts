/**
 * Hands calls from the forwarding thread to the observer thread in batches, without cloning
 * bodies. Small bodies are copied once into one fresh ArrayBuffer per batch; a large body that
 * owns its whole ArrayBuffer (as the proxy's captured bodies do) is not copied at all: its buffer
 * is *moved*. Both kinds are transferred (not cloned) with the message, and the observer side gets
 * zero-copy Buffer views. Moving large bodies matters for memory: a copy would leave the original
 * 8 MiB behind on the forwarding thread until its next garbage collection. Pure: no threads here.
 */
import type { CallRecord, CallStart, Header, SpooledBody, TimedMessage } from '../call.js';

/** Bodies from this size on are moved rather than copied (when they own their buffer). */
export const MOVE_BODY_BYTES = 64 * 1024;

/** [offsetNs, index into the batch's buffers, start in it, length, compressed, spooled body (data empty)] */
type PackedMessage = [number, number, number, number, boolean, SpooledBody?];
/** [spooled body id, index into the batch's buffers, start in it, length] */
type PackedPart = [number, number, number, number];

/**
 * A header list as one string, `name NUL value NUL …`, or the list itself when some name or value
 * holds a NUL (HTTP/2 forbids it, but critap forwards what it is sent). Cloning one string instead
 * of a dozen two-string arrays saved about 3.5 µs a call on the forwarding thread.
 */
type PackedHeaders = string | Header[];

type PackedRecord = Omit<CallRecord, 'requests' | 'responses' | 'status' | 'requestMetadata' | 'responseHeaders' | 'responseTrailers'> & {
  requests: PackedMessage[];
  responses: PackedMessage[];
  status: { code: number; message: string; details?: Uint8Array };
  requestMetadata: PackedHeaders;
  responseHeaders: PackedHeaders;
  responseTrailers: PackedHeaders;
};

export function packHeaders(headers: readonly Header[]): PackedHeaders {
  let out = '';
  for (const [name, value] of headers) {
    if (name.includes('\0') || value.includes('\0')) return headers as Header[];
    out += name + '\0' + value + '\0';
  }
  return out;
}

export function unpackHeaders(packed: PackedHeaders): Header[] {
  if (typeof packed !== 'string') return packed;
  const out: Header[] = [];
  let at = 0;
  while (at < packed.length) {
    const nameEnd = packed.indexOf('\0', at);
    const valueEnd = packed.indexOf('\0', nameEnd + 1);
    out.push([packed.slice(at, nameEnd), packed.slice(nameEnd + 1, valueEnd)]);
    at = valueEnd + 1;
  }
  return out;
}

/**
 * A starting call travels as its method and start time only: the observers use a start to count
 * the call in flight (telemetry's gauge) and nothing else, and the call's metadata arrives with its
 * end. Cloning every start's headers cost about 6 µs a call on the forwarding thread.
 */
type PackedStart = [method: string, startNs: bigint];

export type PackedEvent = { start: PackedStart } | { end: PackedRecord } | { part: PackedPart } | { abort: number };

export interface PackedBatch {
  events: PackedEvent[];
  /** [0] holds the small bodies back to back; the others are moved bodies. All go in the transfer list. */
  buffers: ArrayBuffer[];
}

/**
 * A call began, a call ended, a part of a spooled body arrived, a spooled body will never be
 * finished. On the observer side, a start's requestMetadata is empty (see PackedStart).
 */
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
    if ('start' in e) return { start: [e.start.method, e.start.startNs] };
    if ('abort' in e) return e;
    if ('part' in e) {
      const [index, start] = place(e.part.data, partMovable(e.part.data));
      return { part: [e.part.id, index, start, e.part.data.length] };
    }
    // A copy with its bodies swapped, by assignment: `const { requests, ...rest } = …; { ...rest }`
    // takes V8's slow path (10-20 µs a call, measured) where this takes under 1 µs.
    const end = Object.assign({}, e.end) as unknown as PackedRecord;
    end.requests = pack(e.end.requests);
    end.responses = pack(e.end.responses);
    end.requestMetadata = packHeaders(e.end.requestMetadata);
    end.responseHeaders = packHeaders(e.end.responseHeaders);
    end.responseTrailers = packHeaders(e.end.responseTrailers);
    return { end };
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
    if ('start' in e) return { start: { method: e.start[0], startNs: e.start[1], requestMetadata: [] } };
    if ('abort' in e) return e;
    if ('part' in e) {
      const [id, index, start, length] = e.part;
      return { part: { id, data: Buffer.from(batch.buffers[index]!, start, length) } };
    }
    const packed = e.end;
    // Assignments rather than rest and spread, as in packBatch.
    const record = Object.assign({}, packed) as unknown as CallRecord;
    record.requests = unpack(packed.requests);
    record.responses = unpack(packed.responses);
    record.requestMetadata = unpackHeaders(packed.requestMetadata);
    record.responseHeaders = unpackHeaders(packed.responseHeaders);
    record.responseTrailers = unpackHeaders(packed.responseTrailers);
    const status = packed.status;
    record.status = { code: status.code, message: status.message };
    if (status.details) record.status.details = Buffer.from(status.details.buffer, status.details.byteOffset, status.details.byteLength);
    return { end: record };
  });
}
