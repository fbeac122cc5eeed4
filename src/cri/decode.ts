/**
 * CRI message bytes → their JSON view, without protobuf.js (light-schema.ts, view-decoder.ts):
 * what reading commands (show, export, report) and the recorder need, at a fraction of the
 * start-up cost. codec.ts re-exports it beside encodeMessage, which still uses protobuf.js.
 */
import { CodecError } from './codec-error.js';
import { lightType, type LightType } from './light-schema.js';
import { decodeView } from './view-decoder.js';

/** light-schema.ts builds each type once and keeps it. */
function typeOrError(typeName: string): LightType {
  try {
    return lightType(typeName);
  } catch (err) {
    throw new CodecError(err instanceof Error ? err.message : String(err));
  }
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
