/**
 * Protobuf bytes → the JSON view (the protobuf JSON mapping crictl prints: lowerCamelCase names, 64-bit integers
 * as decimal strings, enums by name, bytes as base64, maps as objects, defaults left out), in one
 * pass over the bytes, driven by the light descriptors: no protobuf.js and no generated code.
 *
 * It gives exactly what protobuf.js's decoder followed by messageToJson gives for the same bytes
 * (a unit test compares the two on every recorded message and on generated ones), down to
 * protobuf.js's ways with odd input: a field seen twice keeps the last value (a message field
 * merges both), a default value clears an earlier one, a field with the wrong wire type is
 * skipped like an unknown one, packed and unpacked repeated numbers are both read, and a string
 * that is not UTF-8 makes the message undecodable.
 */
import { isUtf8 } from 'node:buffer';
import { CodecError } from './codec-error.js';
import { floatToJson } from './json-scalars.js';
import { isLightEnum, isLightType, type LightField, type LightType } from './light-schema.js';
import { readField } from './proto-wire.js';

type Json = Record<string, unknown>;

/** protobuf.js's Reader.recursionLimit. */
const MAX_DEPTH = 100;

/** What a message holds while its bytes are read: one slot per field, in declaration order. */
interface Partial {
  type: LightType;
  slots: unknown[];
}

class Cursor {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    public end: number,
  ) {}

  fail(what: string): never {
    throw new CodecError(`${what} at byte ${this.pos}`);
  }

  /** A varint's low 32 bits, unsigned (longer varints are read to their end, as protobuf.js does). */
  uint32(): number {
    const buf = this.buf;
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) this.fail('index out of range');
      const b = buf[this.pos++]!;
      if (shift < 32) value |= (b & 0x7f) << shift;
      if (b < 0x80) return value >>> 0;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A varint as a 64-bit unsigned BigInt. */
  uint64(): bigint {
    let lo = 0;
    let hi = 0;
    const buf = this.buf;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('index out of range');
      const b = buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (i * 7);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (i * 7 - 32);
      if (b < 0x80) return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    }
    return this.fail('varint longer than 10 bytes');
  }

  fixed(bytes: 4 | 8): number {
    if (this.pos + bytes > this.end) this.fail('index out of range');
    const at = this.pos;
    this.pos += bytes;
    return at;
  }

  /** A length-delimited value: its [start, end). */
  span(): [number, number] {
    const length = this.uint32();
    const start = this.pos;
    if (start + length > this.end) this.fail(`index out of range: ${start} + ${length} > ${this.end}`);
    this.pos = start + length;
    return [start, this.pos];
  }
}

const WIRE_OF: Record<string, number> = {
  double: 1, float: 5, int32: 0, uint32: 0, sint32: 0, fixed32: 5, sfixed32: 5,
  int64: 0, uint64: 0, sint64: 0, fixed64: 1, sfixed64: 1, bool: 0, string: 2, bytes: 2,
};

/** The wire type a field's values are written with (enums as int32, messages length-delimited). */
function wireOf(field: LightField): number {
  return WIRE_OF[field.type] ?? (isLightEnum(field.resolved) ? 0 : 2);
}

/** Reads one scalar (or enum number) of `type` as its JSON value. */
function scalar(c: Cursor, type: string): unknown {
  const buf = c.buf;
  switch (type) {
    case 'string': {
      // proto3 strings must be UTF-8: protobuf.js (utf8_validation VERIFY) rejects other bytes.
      const [s, e] = c.span();
      if (!isUtf8(buf.subarray(s, e))) throw new CodecError('The encoded data was not valid for encoding utf-8');
      return buf.toString('utf8', s, e);
    }
    case 'bytes': {
      const [s, e] = c.span();
      return buf.toString('base64', s, e);
    }
    case 'bool':
      return c.uint32() !== 0;
    case 'uint32':
      return c.uint32();
    case 'int32':
      return c.uint32() | 0;
    case 'sint32': {
      const n = c.uint32();
      return (n >>> 1) ^ -(n & 1);
    }
    case 'int64':
      return BigInt.asIntN(64, c.uint64()).toString();
    case 'uint64':
      return c.uint64().toString();
    case 'sint64': {
      const n = c.uint64();
      return ((n >> 1n) ^ -(n & 1n)).toString();
    }
    case 'fixed32':
      return buf.readUInt32LE(c.fixed(4));
    case 'sfixed32':
      return buf.readInt32LE(c.fixed(4));
    case 'fixed64':
      return buf.readBigUInt64LE(c.fixed(8)).toString();
    case 'sfixed64':
      return buf.readBigInt64LE(c.fixed(8)).toString();
    case 'double':
      return buf.readDoubleLE(c.fixed(8));
    case 'float':
      return buf.readFloatLE(c.fixed(4));
    default:
      return c.uint32() | 0; // an enum
  }
}

/** The value protobuf.js leaves out of a message (it deletes the field when it reads one); -0.0 is not one. */
function isDefault(v: unknown): boolean {
  return v === '' || v === false || Object.is(v, 0);
}

/** 64-bit integers are read as decimal strings: their zero is '0'. */
function isDefaultOf(type: string, v: unknown): boolean {
  return LONG_TYPES.has(type) ? v === '0' : isDefault(v);
}

const LONG_TYPES: ReadonlySet<string> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function skipUnknown(c: Cursor, tagStart: number): void {
  c.pos = readField(c.buf, tagStart, c.end).end;
}

function readInto(c: Cursor, msg: Partial, depth: number): void {
  if (depth > MAX_DEPTH) throw new CodecError('max depth exceeded');
  const { type, slots } = msg;
  while (c.pos < c.end) {
    const tagStart = c.pos;
    const tag = c.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    if (id === 0) throw new CodecError(`illegal tag: field number 0 at byte ${tagStart}`);
    const field = type.byId.get(id);
    if (!field || !readValue(c, field, wire, slots, field.index, depth)) skipUnknown(c, tagStart);
  }
}

/** Reads one occurrence of `field` into its slot; false when its wire type is not the field's (then it is skipped). */
function readValue(c: Cursor, field: LightField, wire: number, slots: unknown[], i: number, depth: number): boolean {
  const resolved = field.resolved;
  if (field.keyType !== undefined) {
    if (wire !== 2) return false;
    const map = (slots[i] as Json | undefined) ?? (slots[i] = {} as Json);
    readMapEntry(c, field, map, depth);
    return true;
  }
  const want = wireOf(field);
  if (isLightType(resolved)) {
    if (wire !== 2) return false;
    const [s, e] = c.span();
    if (field.repeated) {
      const item: Partial = { type: resolved, slots: [] };
      readSub(c, item, s, e, depth);
      ((slots[i] as Partial[] | undefined) ?? (slots[i] = [] as Partial[]) as Partial[]).push(item);
    } else {
      // A message field seen again is merged into what was read before.
      const item = (slots[i] as Partial | undefined) ?? (slots[i] = { type: resolved, slots: [] } as Partial) as Partial;
      readSub(c, item, s, e, depth);
    }
    return true;
  }
  if (field.repeated) {
    const list = (slots[i] as unknown[] | undefined) ?? (slots[i] = [] as unknown[]) as unknown[];
    if (wire === 2 && want !== 2) {
      // Packed numbers.
      const [s, e] = c.span();
      const outer = c.end;
      c.pos = s;
      c.end = e;
      while (c.pos < e) list.push(scalar(c, field.type));
      c.end = outer;
      return true;
    }
    if (wire !== want) return false;
    list.push(scalar(c, field.type));
    return true;
  }
  if (wire !== want) return false;
  const v = scalar(c, field.type);
  slots[i] = !field.presence && isDefaultOf(field.type, v) ? undefined : v;
  return true;
}

function readSub(c: Cursor, item: Partial, start: number, end: number, depth: number): void {
  const outer = c.end;
  c.pos = start;
  c.end = end;
  readInto(c, item, depth + 1);
  c.end = outer;
  c.pos = end;
}

function readMapEntry(c: Cursor, field: LightField, map: Json, depth: number): void {
  const [s, e] = c.span();
  const outer = c.end;
  c.pos = s;
  c.end = e;
  const valueType = field.resolved;
  let key: unknown = defaultOf(field.keyType!);
  let value: unknown = isLightType(valueType) ? undefined : defaultOf(field.type);
  while (c.pos < e) {
    const tagStart = c.pos;
    const tag = c.uint32();
    const wire = tag & 7;
    if (tag >>> 3 === 1 && wire === WIRE_OF[field.keyType!]) {
      key = scalar(c, field.keyType!);
    } else if (tag >>> 3 === 2 && wire === wireOf(field)) {
      if (isLightType(valueType)) {
        const [vs, ve] = c.span();
        const item: Partial = (value as Partial | undefined) ?? { type: valueType, slots: [] };
        readSub(c, item, vs, ve, depth);
        value = item;
      } else value = scalar(c, field.type);
    } else {
      if (tag >>> 3 === 0) throw new CodecError(`illegal tag: field number 0 at byte ${tagStart}`);
      skipUnknown(c, tagStart);
    }
  }
  c.end = outer;
  c.pos = e;
  if (isLightType(valueType) && value === undefined) value = { type: valueType, slots: [] } satisfies Partial;
  // protobuf.js stores a '__proto__' key as an own property; its JSON view then drops it.
  if (key === '__proto__') return;
  map[String(key)] = value;
}

function defaultOf(type: string): unknown {
  if (type === 'string' || type === 'bytes') return '';
  if (type === 'bool') return false;
  if (LONG_TYPES.has(type)) return '0';
  return 0;
}

function toJson(msg: Partial): Json {
  const out: Json = {};
  const { type, slots } = msg;
  for (let i = 0; i < type.fields.length; i++) {
    const v = slots[i];
    if (v === undefined) continue;
    const field = type.fields[i]!;
    if (field.keyType !== undefined) {
      const entries = Object.entries(v as Json);
      if (entries.length === 0) continue;
      const obj: Json = {};
      for (const [k, x] of entries) obj[k] = valueJson(field, x);
      out[field.name] = obj;
    } else if (field.repeated) {
      const items = v as unknown[];
      if (items.length === 0) continue;
      out[field.name] = items.map((x) => valueJson(field, x));
    } else {
      out[field.name] = valueJson(field, v);
    }
  }
  return out;
}

function valueJson(field: LightField, v: unknown): unknown {
  const resolved = field.resolved;
  if (isLightType(resolved)) return toJson(v as Partial);
  if (isLightEnum(resolved)) return resolved.valuesById[v as number] ?? v;
  if (field.type === 'double' || field.type === 'float') return floatToJson(v as number, field.type === 'float');
  return v;
}

/** Bytes → JSON view of `type`; throws CodecError when they are not a valid encoding. */
export function decodeView(type: LightType, bytes: Uint8Array): Json {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const msg: Partial = { type, slots: [] };
  readInto(new Cursor(buf, buf.length), msg, 0);
  return toJson(msg);
}
