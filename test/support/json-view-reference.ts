/**
 * Decoded protobuf.js message → the protobuf JSON mapping, as crictl prints it:
 * lowerCamelCase names, 64-bit integers as strings, enums by name, bytes as base64,
 * maps as objects, and fields at their default value left out.
 *
 * critap itself decodes with view-decoder.ts (no protobuf.js); this is the mapping over
 * protobuf.js's own decoder that the tests hold view-decoder.ts to, message for message.
 */
import protobuf from 'protobufjs/light.js';
import { floatToJson } from '../../src/cri/json-scalars.js';

type Json = Record<string, unknown>;

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

export function messageToJson(type: protobuf.Type, message: Json): Json {
  const out: Json = {};
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    if (field instanceof protobuf.MapField) {
      const entries = Object.entries(value as Json);
      if (entries.length === 0) continue;
      const unsignedKey = field.keyType === 'uint64' || field.keyType === 'fixed64';
      const obj: Json = {};
      for (const [key, v] of entries) {
        const jsonKey = LONG_TYPES.has(field.keyType) ? String(protobuf.util.longFromKey(key, unsignedKey)) : key;
        obj[jsonKey] = valueToJson(field, v);
      }
      out[field.name] = obj;
    } else if (field.repeated) {
      const items = value as unknown[];
      if (items.length === 0) continue;
      out[field.name] = items.map((v) => valueToJson(field, v));
    } else {
      // Fields in a oneof (and proto3 `optional` ones) have presence: a set default is still shown.
      if (field.partOf === null && isDefault(field, value)) continue;
      out[field.name] = valueToJson(field, value);
    }
  }
  return out;
}

function isDefault(field: protobuf.Field, value: unknown): boolean {
  if (field.resolvedType instanceof protobuf.Type) return false;
  if (typeof value === 'number') return Object.is(value, 0);
  // protobuf.js's prototype default for bytes is a plain empty array, not a Uint8Array.
  if (typeof value === 'string' || value instanceof Uint8Array || Array.isArray(value)) return value.length === 0;
  if (typeof value === 'boolean') return !value;
  if (typeof value === 'bigint') return value === 0n;
  return isLong(value) && value.low === 0 && value.high === 0;
}

function isLong(value: unknown): value is protobuf.Long {
  return typeof value === 'object' && value !== null && 'low' in value && 'high' in value;
}

function valueToJson(field: protobuf.Field, value: unknown): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageToJson(resolved, value as Json);
  if (resolved instanceof protobuf.Enum) return resolved.valuesById[value as number] ?? value;
  if (LONG_TYPES.has(field.type)) return String(value);
  if (field.type === 'bytes') return Buffer.from(value as Uint8Array).toString('base64');
  if (field.type === 'double' || field.type === 'float') return floatToJson(value as number, field.type === 'float');
  return value;
}
