/**
 * CRI messages between raw protobuf bytes and their JSON view. The proxy never needs
 * this to forward; it is for showing, exporting, matching and writing fixtures.
 */
import { CodecError } from './codec-error.js';
import { messageToJson } from './json-view.js';
import { jsonToMessage } from './json-parse.js';
import { lookupType } from './schema.js';

export { CodecError } from './codec-error.js';

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

/** Bytes → JSON view (protobuf JSON mapping, defaults omitted), like crictl's -o json. */
export function decodeMessage(typeName: string, bytes: Buffer): Record<string, unknown> {
  const type = typeOrError(typeName);
  let message: Record<string, unknown>;
  try {
    message = type.decode(bytes) as unknown as Record<string, unknown>;
  } catch (err) {
    throw new CodecError(`critap: cannot decode ${bytes.length} bytes as ${typeName}: ${reason(err)}`);
  }
  return messageToJson(type, message);
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
