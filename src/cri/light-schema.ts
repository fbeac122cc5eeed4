/**
 * The CRI message types as plain descriptors, read straight from the schema JSON (schema-files.ts)
 * without protobuf.js: what reading a recording needs (field names, numbers, types, enums).
 *
 * `critap show` used to load protobuf.js, build every runtime.v1 type from the JSON, resolve them
 * all and generate a decoder per type it met: most of its start-up above Node's own. These
 * descriptors are built one type at a time, when a message of that type is first read, and
 * a field's type is resolved on first use, so a command pays only for the types it meets.
 */
import { packageOfType, schemaJson, type SchemaNode } from './schema-files.js';

export interface LightEnum {
  readonly fullName: string;
  /** Names by number; for aliases the last name wins, as in protobuf.js. */
  readonly valuesById: Readonly<Record<number, string>>;
}

export interface LightField {
  readonly name: string;
  /** Its place in the message's `fields`. */
  readonly index: number;
  readonly id: number;
  /** The type as written: a scalar ('int64', 'bytes', …) or a reference to a message or enum. */
  readonly type: string;
  readonly repeated: boolean;
  /** Map fields: the key's scalar type (the value's type is `type`). */
  readonly keyType: string | undefined;
  /** In a oneof (or proto3 `optional`): a field set to its default value is still present. */
  readonly presence: boolean;
  /** The referenced message or enum, resolved on first use; undefined for scalars. */
  readonly resolved: LightType | LightEnum | undefined;
}

export interface LightType {
  readonly fullName: string;
  /** In declaration order, as the JSON view lists them. */
  readonly fields: readonly LightField[];
  readonly byId: ReadonlyMap<number, LightField>;
}

export const SCALAR_TYPES: ReadonlySet<string> = new Set([
  'double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
  'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes',
]);

export function isLightType(x: LightType | LightEnum | undefined): x is LightType {
  return x !== undefined && 'fields' in x;
}

export function isLightEnum(x: LightType | LightEnum | undefined): x is LightEnum {
  return x !== undefined && 'valuesById' in x;
}

interface FieldJson {
  type: string;
  id: number;
  rule?: string;
  keyType?: string;
}

const built = new Map<string, LightType | LightEnum>();

/** The schema node at a dotted path from the file's root, if there is one. */
function nodeAt(root: SchemaNode, path: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = root;
  for (const part of path) node = node?.nested?.[part];
  return node;
}

function build(fullName: string, node: SchemaNode): LightType | LightEnum {
  if (node.values) {
    const valuesById: Record<number, string> = {};
    for (const [name, n] of Object.entries(node.values)) valuesById[n] = name;
    return { fullName, valuesById };
  }
  const oneofFields = new Set<string>();
  const oneofs = (node as { oneofs?: Record<string, { oneof?: string[] }> }).oneofs;
  for (const o of Object.values(oneofs ?? {})) for (const f of o.oneof ?? []) oneofFields.add(f);
  const scope = fullName.split('.');
  const fields: LightField[] = Object.entries((node.fields ?? {}) as Record<string, FieldJson>).map(([name, f], index) => lightField(name, index, f, scope, oneofFields.has(name)));
  return { fullName, fields, byId: new Map(fields.map((f) => [f.id, f])) };
}

function lightField(name: string, index: number, f: FieldJson, scope: readonly string[], presence: boolean): LightField {
  let resolved: LightType | LightEnum | undefined | null = SCALAR_TYPES.has(f.type) ? undefined : null;
  return {
    name,
    index,
    id: f.id,
    type: f.type,
    repeated: f.rule === 'repeated',
    keyType: f.keyType,
    presence,
    get resolved() {
      if (resolved === null) resolved = resolveRef(f.type, scope);
      return resolved;
    },
  };
}

/**
 * A type reference as protobuf.js resolves it: inside the referring message first, then each
 * enclosing namespace outwards ('ProfileType' in SecurityProfile is SecurityProfile.ProfileType).
 */
function resolveRef(ref: string, scope: readonly string[]): LightType | LightEnum {
  if (ref.startsWith('.')) return lightLookup(ref.slice(1));
  for (let depth = scope.length; depth >= 0; depth--) {
    const candidate = [...scope.slice(0, depth), ref].join('.');
    const found = tryLookup(candidate);
    if (found) return found;
  }
  throw new Error(`critap: the CRI schema refers to an unknown type '${ref}' in ${scope.join('.')}`);
}

function tryLookup(fullName: string): LightType | LightEnum | undefined {
  const hit = built.get(fullName);
  if (hit) return hit;
  const pkg = packageOfType(fullName);
  if (pkg === undefined) return undefined;
  const node = nodeAt(schemaJson(pkg), fullName.split('.'));
  if (!node || (!node.fields && !node.values)) return undefined;
  const made = build(fullName, node);
  built.set(fullName, made);
  return made;
}

function lightLookup(fullName: string): LightType | LightEnum {
  const found = tryLookup(fullName);
  if (!found) throw new Error(`critap: unknown CRI message type '${fullName}'`);
  return found;
}

/** A message type by full name ('runtime.v1.VersionRequest'; a leading dot is allowed). */
export function lightType(fullName: string): LightType {
  const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
  const found = tryLookup(name);
  if (!isLightType(found)) throw new Error(`critap: unknown CRI message type '${fullName}'`);
  return found;
}
