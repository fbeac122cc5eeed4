/**
 * Decoding shared by the test collector's services (otlp-receiver.ts): one protobufjs root
 * holding the OTLP trace and metrics schemas, requests turned into plain objects, and OTLP
 * KeyValue lists turned into records.
 */
import protobuf from 'protobufjs';
import { OTLP_METRICS_PROTO_FILES } from './otlp-metrics-proto.js';
import { OTLP_TRACE_PROTO_FILES } from './otlp-trace-proto.js';

export type AttrValue = string | number | boolean | bigint | AttrValue[] | { [k: string]: AttrValue } | Buffer | null;

export type Obj = Record<string, any>;

let root: protobuf.Root | undefined;

export function otlpType(name: string): protobuf.Type {
  if (!root) {
    root = new protobuf.Root();
    for (const text of [...OTLP_TRACE_PROTO_FILES, ...OTLP_METRICS_PROTO_FILES]) protobuf.parse(text, root, { keepCase: true });
    root.resolveAll();
  }
  return root.lookupType(name);
}

/** One message as a plain object: 64-bit integers as decimal strings, bytes as Buffers, unset fields absent. */
export function decodeOtlp(typeName: string, bytes: Buffer): Obj {
  const type = otlpType(typeName);
  return type.toObject(type.decode(bytes), { longs: String, bytes: Buffer, oneofs: false, defaults: false });
}

/** An empty message of `typeName`, encoded: the OK answer of an Export. */
export function encodeEmpty(typeName: string): Buffer {
  const type = otlpType(typeName);
  return Buffer.from(type.encode(type.create({})).finish());
}

function anyValue(v: Obj | undefined): AttrValue {
  if (!v) return null;
  if (v.string_value !== undefined) return v.string_value as string;
  if (v.bool_value !== undefined) return v.bool_value as boolean;
  if (v.int_value !== undefined) return Number(v.int_value);
  if (v.double_value !== undefined) return v.double_value as number;
  if (v.bytes_value !== undefined) return v.bytes_value as Buffer;
  if (v.array_value !== undefined) return ((v.array_value.values ?? []) as Obj[]).map(anyValue);
  if (v.kvlist_value !== undefined) return keyValues(v.kvlist_value.values);
  return null;
}

export function keyValues(list: Obj[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[kv.key as string] = anyValue(kv.value as Obj | undefined);
  return out;
}
