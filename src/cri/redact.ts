/**
 * Secrets never reach a recording, span or log unless the user opts in. Redaction
 * rewrites the protobuf bytes in place of the secret fields only: every other byte,
 * unknown fields included, is copied unchanged, so a redacted recording still replays
 * what the runtime saw apart from the secrets.
 */
import { CodecError } from './codec-error.js';
import { WIRE_LEN, encodeVarint, readField } from './proto-wire.js';
import { RedactionPlanner, type TypePlan } from './redact-plan.js';

export interface RedactionRules {
  /** Extra field paths, e.g. 'runtime.v1.CreateContainerRequest:config.labels' or
   *  '*:config.annotations'; a path segment names a field (json or proto name); repeated
   *  and map fields are walked. A type before the colon applies wherever that type occurs
   *  ('*' = every type; a short name like 'ContainerConfig' matches in every CRI package).
   *  A path ending at a map redacts its values; at a message, every string and bytes inside. */
  extraPaths?: string[];
  /** Keep container env values (default false: envs[].value is redacted). */
  keepEnv?: boolean;
}

export const REDACTED = '[REDACTED]';
const REDACTED_BYTES = Buffer.from(REDACTED);

let defaultPlanner: RedactionPlanner | undefined;
const planners = new WeakMap<RedactionRules, RedactionPlanner>();

/** Compiles the rules (throws on a path that names no field), cached per rules object: reuse the object. */
function plannerFor(rules: RedactionRules | undefined): RedactionPlanner {
  if (!rules) return (defaultPlanner ??= new RedactionPlanner());
  let planner = planners.get(rules);
  if (!planner) {
    planner = new RedactionPlanner(rules);
    planners.set(rules, planner);
  }
  return planner;
}

/** Checks rules up front (for a CLI flag), so a typo is reported before any call is recorded. */
export function validateRedactionRules(rules: RedactionRules): void {
  plannerFor(rules);
}

/** Whether messages of this type can ever need redaction under these rules (O(1) after the first call). */
export function canRedact(typeName: string, rules?: RedactionRules): boolean {
  return plannerFor(rules).planFor(typeName).canRedact;
}

/**
 * Returns the same Buffer (identical object) when nothing needed redaction, else re-encoded
 * bytes. Redacts every field marked debug_redact in the schema (AuthConfig.password, auth,
 * identity_token, registry_token — wherever AuthConfig occurs, at any depth, in v1alpha2 too),
 * and KeyValue values under ContainerConfig.envs unless keepEnv. String fields get REDACTED;
 * bytes fields get empty. Bytes that are not a valid encoding throw CodecError: the caller
 * must then drop the body rather than store it unredacted. `learn` is handed each value taken
 * out (a view into `bytes`), for the recorder's SecretMemory.
 */
export function redactMessage(typeName: string, bytes: Buffer, rules?: RedactionRules, learn?: (value: Buffer) => void): Buffer {
  let plan: TypePlan;
  try {
    plan = plannerFor(rules).planFor(typeName);
  } catch (err) {
    if (err instanceof Error && /unknown CRI message type/.test(err.message)) throw new CodecError(err.message);
    throw err;
  }
  if (!plan.canRedact) return bytes;
  let rewritten: Rewrite | undefined;
  try {
    rewritten = rewrite(plan, bytes, 0, bytes.length, learn);
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^critap: /, '') : String(err);
    throw new CodecError(`critap: cannot redact ${bytes.length} bytes as ${typeName}: ${reason}`);
  }
  return rewritten ? Buffer.concat(rewritten.chunks, rewritten.length) : bytes;
}

interface Rewrite {
  chunks: Uint8Array[];
  length: number;
}

/** Rewrites one message's fields in [start, end); undefined when nothing changed. */
function rewrite(plan: TypePlan, buf: Buffer, start: number, end: number, learn?: (value: Buffer) => void): Rewrite | undefined {
  let out: Rewrite | undefined;
  let copiedUpTo = start;
  const replace = (from: number, to: number, replacement: Uint8Array[]): void => {
    out ??= { chunks: [], length: 0 };
    if (from > copiedUpTo) out.chunks.push(buf.subarray(copiedUpTo, from));
    out.length += from - copiedUpTo;
    for (const chunk of replacement) {
      out.chunks.push(chunk);
      out.length += chunk.length;
    }
    copiedUpTo = to;
  };
  for (let pos = start; pos < end; ) {
    const field = readField(buf, pos, end);
    pos = field.end;
    const action = plan.actions.get(field.fieldNo);
    if (!action) continue;
    const isLen = field.wireType === WIRE_LEN;
    const tagBytes = buf.subarray(field.tagStart, isLen ? lengthStart(buf, field.tagStart) : field.dataStart);
    const payload = isLen ? buf.subarray(field.dataStart, field.end) : undefined;
    switch (action.kind) {
      case 'redact-string':
        if (!payload) replace(field.tagStart, field.end, []); // not a string on the wire: drop it
        else if (payload.length > 0 && !payload.equals(REDACTED_BYTES)) {
          learn?.(payload);
          replace(field.tagStart, field.end, [tagBytes, encodeVarint(REDACTED_BYTES.length), REDACTED_BYTES]);
        }
        break;
      case 'drop':
        if (payload && payload.length > 0) learn?.(payload);
        if (!payload || payload.length > 0) replace(field.tagStart, field.end, []);
        break;
      case 'message': {
        if (!payload) throw new CodecError(`critap: field ${field.fieldNo} should be a message but has wire type ${field.wireType}`);
        const inner = rewrite(action.plan, buf, field.dataStart, field.end, learn);
        if (inner) replace(field.tagStart, field.end, [tagBytes, encodeVarint(inner.length), ...inner.chunks]);
        break;
      }
    }
  }
  if (!out) return undefined;
  replace(end, end, []);
  return out;
}

/** End of the tag varint (where a length-delimited field's length starts). */
function lengthStart(buf: Buffer, tagStart: number): number {
  let pos = tagStart;
  while (buf[pos]! >= 0x80) pos++;
  return pos + 1;
}
