/**
 * CRI messages between raw protobuf bytes and their JSON view. The proxy never needs
 * this to forward; it is for showing, exporting, matching and writing fixtures. Decoding lives
 * in decode.ts (no protobuf.js); encoding builds protobuf.js types from the schema.
 */
import { CodecError } from './codec-error.js';
import { jsonToMessage } from './json-parse.js';
import { lookupType } from './schema.js';

export { CodecError } from './codec-error.js';
// Decoding needs no protobuf.js: decode.ts, for commands that only read.
export { decodeMessage } from './decode.js';

function typeOrError(typeName: string) {
  try {
    return lookupType(typeName);
  } catch (err) {
    throw new CodecError(err instanceof Error ? err.message : String(err));
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** JSON (lowerCamelCase or snake_case keys) → bytes. Unknown fields and ill-typed values throw CodecError. */
export function encodeMessage(typeName: string, json: unknown): Buffer {
  const type = typeOrError(typeName);
  const properties = jsonToMessage(type, json, typeName.replace(/^\./, '').split('.').pop()!);
  try {
    const bytes = type.encode(properties).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (err) {
    throw new CodecError(`critap: cannot encode ${typeName}: ${reason(err)}`);
  }
}
