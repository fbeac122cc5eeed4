/**
 * CRI message bytes → their JSON view, without protobuf.js (light-schema.ts, view-decoder.ts):
 * what reading commands (show, export, report) and the recorder need, at a fraction of the
 * start-up cost. codec.ts re-exports it beside encodeMessage, which still uses protobuf.js.
 */
import { CodecError } from './codec-error.js';
import { lightType, type LightType } from './light-schema.js';
import { decodeView } from './view-decoder.js';

const types = new Map<string, LightType>();

function typeOrError(typeName: string): LightType {
  let type = types.get(typeName);
  if (type) return type;
  try {
    type = lightType(typeName);
  } catch (err) {
    throw new CodecError(err instanceof Error ? err.message : String(err));
  }
  types.set(typeName, type);
  return type;
}

/** Bytes → JSON view (protobuf JSON mapping, defaults omitted), like crictl's -o json. */
export function decodeMessage(typeName: string, bytes: Buffer): Record<string, unknown> {
  const type = typeOrError(typeName);
  try {
    return decodeView(type, bytes);
  } catch (err) {
    throw new CodecError(`critap: cannot decode ${bytes.length} bytes as ${typeName}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
