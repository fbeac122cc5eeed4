/**
 * Strict JSON → protobuf.js message properties, for messages a person writes (replay
 * fixtures, `critap` request files). Accepts lowerCamelCase and snake_case names and
 * the protobuf JSON forms of values; anything it cannot place is an error naming the
 * field and the type, because a typo silently dropped would change what is sent.
 */
import protobuf from 'protobufjs/light.js';
import { CodecError } from './codec-error.js';

type Json = Record<string, unknown>;

const INT32_RANGE: Record<string, [number, number]> = {
  int32: [-0x80000000, 0x7fffffff],
  sint32: [-0x80000000, 0x7fffffff],
  sfixed32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
  fixed32: [0, 0xffffffff],
};
const INT64_RANGE: Record<string, [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

function typeLabel(type: protobuf.Type): string {
  return type.fullName.slice(1);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** The field a JSON key names: its JSON (lowerCamelCase) name, or its proto (snake_case) name. */
function fieldForKey(type: protobuf.Type, key: string): protobuf.Field | undefined {
  const direct = type.fields[key];
  if (direct) return direct;
  // Loaded with keepCase: false, every field name is util.camelCase(proto name).
  return key.includes('_') ? type.fields[protobuf.util.camelCase(key)] : undefined;
}

function unknownField(type: protobuf.Type, key: string, path: string): CodecError {
  const squashed = key.replace(/_/g, '').toLowerCase();
  const near = type.fieldsArray.find((f) => f.name.toLowerCase() === squashed);
  const hint = near ? ` (did you mean '${near.name}'?)` : '';
  return new CodecError(`critap: unknown field '${key}' in ${typeLabel(type)} at ${path}${hint}`);
}

export function jsonToMessage(type: protobuf.Type, json: unknown, path: string): Json {
  if (!isPlainObject(json)) {
    throw new CodecError(`critap: ${path} must be a JSON object for ${typeLabel(type)}, got ${describe(json)}`);
  }
  const out: Json = {};
  const seenFrom = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const field = fieldForKey(type, key);
    if (!field) throw unknownField(type, key, path);
    const earlier = seenFrom.get(field.name);
    if (earlier !== undefined) {
      throw new CodecError(`critap: field ${field.name} of ${typeLabel(type)} is given twice at ${path} ('${earlier}' and '${key}')`);
    }
    seenFrom.set(field.name, key);
    if (value === null) continue; // JSON null means "not set"
    out[field.name] = fieldFromJson(field, value, `${path}.${field.name}`);
  }
  // A oneof takes at most one member; protobuf.js would otherwise keep whichever it met last.
  for (const oneof of type.oneofsArray) {
    const set = oneof.fieldsArray.filter((f) => out[f.name] !== undefined).map((f) => f.name);
    if (set.length > 1) throw new CodecError(`critap: ${path}: oneof ${oneof.name} of ${typeLabel(type)} has several members set: ${set.join(', ')}`);
  }
  return out;
}

function fieldFromJson(field: protobuf.Field, value: unknown, path: string): unknown {
  if (field instanceof protobuf.MapField) {
    if (!isPlainObject(value)) throw new CodecError(`critap: ${path} is a map and must be a JSON object, got ${describe(value)}`);
    const out: Json = {};
    for (const [key, v] of Object.entries(value)) {
      checkMapKey(field.keyType, key, `${path}[${JSON.stringify(key)}]`);
      out[key] = valueFromJson(field, v, `${path}[${JSON.stringify(key)}]`);
    }
    return out;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) throw new CodecError(`critap: ${path} is repeated and must be a JSON array, got ${describe(value)}`);
    return value.map((v, i) => valueFromJson(field, v, `${path}[${i}]`));
  }
  return valueFromJson(field, value, path);
}

function checkMapKey(keyType: string, key: string, path: string): void {
  if (keyType === 'string') return;
  if (keyType === 'bool') {
    if (key !== 'true' && key !== 'false') throw new CodecError(`critap: ${path}: a bool map key must be "true" or "false"`);
    return;
  }
  integerFromJson(keyType, key, path);
}

function valueFromJson(field: protobuf.Field, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return jsonToMessage(resolved, value, path);
  if (resolved instanceof protobuf.Enum) return enumFromJson(resolved, value, path);
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') throw new CodecError(`critap: ${path} must be a string, got ${describe(value)}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new CodecError(`critap: ${path} must be true or false, got ${describe(value)}`);
      return value;
    case 'bytes':
      return bytesFromJson(value, path);
    case 'double':
    case 'float':
      return floatFromJson(value, path);
    default:
      return integerFromJson(field.type, value, path);
  }
}

function enumFromJson(e: protobuf.Enum, value: unknown, path: string): number {
  if (typeof value === 'string' && Object.hasOwn(e.values, value)) return e.values[value]!;
  // Enums are open in proto3: an integer the schema does not name is still a valid value.
  if (typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) return value;
  throw new CodecError(`critap: ${path} must be one of ${Object.keys(e.values).join(', ')} (enum ${e.name}), got ${describe(value)}`);
}

function integerFromJson(type: string, value: unknown, path: string): number | protobuf.Long {
  let big: bigint;
  if (typeof value === 'number' && Number.isInteger(value)) big = BigInt(value);
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) big = BigInt(value);
  else if (typeof value === 'bigint') big = value;
  else throw new CodecError(`critap: ${path} must be an integer (${type}), got ${describe(value)}`);
  const range32 = INT32_RANGE[type];
  if (range32) {
    if (big < BigInt(range32[0]) || big > BigInt(range32[1])) throw new CodecError(`critap: ${path}: ${big} is out of range for ${type}`);
    return Number(big);
  }
  const range64 = INT64_RANGE[type];
  if (!range64) throw new CodecError(`critap: ${path}: unsupported field type ${type}`);
  if (big < range64[0] || big > range64[1]) throw new CodecError(`critap: ${path}: ${big} is out of range for ${type}`);
  // protobuf.js writers take any {low, high}; two's complement bits serve signed and unsigned alike.
  const bits = BigInt.asUintN(64, big);
  const long = { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: type === 'uint64' || type === 'fixed64' };
  return long as protobuf.Long;
}

function floatFromJson(value: unknown, path: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  throw new CodecError(`critap: ${path} must be a number, got ${describe(value)}`);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

function bytesFromJson(value: unknown, path: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') {
    const standard = value.replace(/-/g, '+').replace(/_/g, '/'); // URL-safe base64 is valid protobuf JSON too
    if (BASE64.test(standard)) return Buffer.from(standard, 'base64');
  }
  throw new CodecError(`critap: ${path} must be base64 text (bytes), got ${describe(value)}`);
}
