/**
 * A message's JSON view as people read it, for the text views (show, the HTML report):
 * - an enum field left out because it holds its zero value is put back by name: the CRI means
 *   something by every zero (state SANDBOX_READY, CONTAINER_CREATED, namespace mode POD);
 * - exitCode 0 is shown (an ExecSync or an exited container that succeeded);
 * - bytes that are UTF-8 text (ExecSync stdout/stderr, env values) become that text;
 * - nanosecond times (createdAt, startedAt, finishedAt, timestamp) become RFC 3339.
 * `show --json` keeps the exact protobuf JSON mapping instead, for scripts.
 */
import { isoNs } from '../record/time.js';
import { isLightEnum, isLightType, lightType, type LightField, type LightType } from './light-schema.js';

type Json = Record<string, unknown>;

const TIME_FIELDS = new Set(['createdAt', 'startedAt', 'finishedAt', 'timestamp']);
/** Earlier than 2001 in ns is not a wall-clock time (CRI times are ns since the epoch). */
const MIN_WALL_NS = 1_000_000_000_000_000_000n;

export function humanMessage(typeName: string, json: unknown): unknown {
  if (!isObj(json) || isSpecial(json)) return json;
  let type: LightType;
  try {
    type = lightType(typeName);
  } catch {
    return json;
  }
  return humanOf(type, json);
}

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** callView's markers for bodies it could not decode ({'@raw': …}): left as they are. */
function isSpecial(v: Json): boolean {
  return Object.keys(v).some((k) => k.startsWith('@'));
}

function humanOf(type: LightType, json: Json): Json {
  const out: Json = {};
  for (const field of type.fields) {
    const value = json[field.name];
    if (value === undefined) {
      if (field.repeated || field.keyType !== undefined || field.presence) continue;
      const resolved = field.resolved;
      if (isLightEnum(resolved)) out[field.name] = resolved.valuesById[0] ?? 0;
      else if (field.name === 'exitCode') out[field.name] = 0;
      continue;
    }
    if (field.keyType !== undefined) {
      const obj: Json = {};
      for (const [k, v] of Object.entries(value as Json)) obj[k] = humanValue(field, v);
      out[field.name] = obj;
    } else if (field.repeated && Array.isArray(value)) {
      out[field.name] = value.map((v) => humanValue(field, v));
    } else {
      out[field.name] = humanValue(field, value);
    }
  }
  // Anything the schema does not name (a newer CRI's field) is kept as decoded.
  for (const [k, v] of Object.entries(json)) if (!(k in out)) out[k] = v;
  return out;
}

function humanValue(field: LightField, value: unknown): unknown {
  const resolved = field.resolved;
  if (isLightType(resolved)) return isObj(value) ? humanOf(resolved, value) : value;
  if (field.type === 'bytes' && typeof value === 'string') return bytesText(value);
  if (TIME_FIELDS.has(field.name) && typeof value === 'string' && /^\d+$/.test(value)) {
    const ns = BigInt(value);
    return ns >= MIN_WALL_NS ? isoNs(ns) : value;
  }
  return value;
}

/** Base64 bytes as text when they are UTF-8 without control characters (tabs and newlines aside). */
export function bytesText(base64: string): string {
  const buf = Buffer.from(base64, 'base64');
  const text = buf.toString('utf8');
  // A round trip that changes the bytes means they were not UTF-8.
  if (!Buffer.from(text, 'utf8').equals(buf)) return base64;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return base64;
  return text;
}
