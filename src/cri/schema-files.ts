/**
 * The CRI schema files as plain JSON, without protobuf.js: the method table (methods.ts) is built
 * straight from them, so commands such as `critap stats` never load protobuf.js, and schema.ts
 * turns only the packages it is asked for into protobuf.js types.
 *
 * proto/runtime/<v>/api.schema.json is api.proto parsed as critap reads it (lowerCamelCase field
 * names), written by scripts/gen-proto.ts; a unit test keeps the two identical.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The CRI packages critap knows, newest first. */
export const CRI_PACKAGES = ['runtime.v1', 'runtime.v1alpha2'] as const;
export type CriPackage = (typeof CRI_PACKAGES)[number];

/** A protobuf.js JSON descriptor node: a namespace, message, enum or service. */
export interface SchemaNode {
  nested?: Record<string, SchemaNode>;
  fields?: Record<string, unknown>;
  values?: Record<string, number>;
  methods?: Record<string, { requestType: string; responseType: string; requestStream?: boolean; responseStream?: boolean }>;
  options?: Record<string, unknown>;
}

/** The .proto each package is generated as, relative to the package root. */
export function protoFileOf(pkg: CriPackage): string {
  return `proto/runtime/${pkg.slice('runtime.'.length)}/api.proto`;
}

export function schemaFileOf(pkg: CriPackage): string {
  return protoFileOf(pkg).replace(/\.proto$/, '.schema.json');
}

/** The package root: the nearest ancestor holding proto/ (dist/src/cri/ when built, src/cri/ from source). */
export function packageRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  const marker = schemaFileOf(CRI_PACKAGES[0]);
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, marker))) return dir;
    if (dirname(dir) === dir) throw new Error(`critap: cannot find ${marker} above ${start}`);
  }
}

const loaded = new Map<CriPackage, SchemaNode>();

/** One package's descriptor, the whole file from the root ({ nested: { runtime: { nested: { v1: … } } } }). */
export function schemaJson(pkg: CriPackage): SchemaNode {
  const hit = loaded.get(pkg);
  if (hit) return hit;
  const file = join(packageRoot(), schemaFileOf(pkg));
  let json: SchemaNode;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as SchemaNode;
  } catch (err) {
    throw new Error(`critap: cannot read the CRI schema ${file}: ${(err as Error).message}`);
  }
  loaded.set(pkg, json);
  return json;
}

/** The package's own namespace inside its descriptor (runtime → v1). */
export function packageNode(pkg: CriPackage): SchemaNode {
  let node: SchemaNode | undefined = schemaJson(pkg);
  for (const part of pkg.split('.')) node = node?.nested?.[part];
  if (!node?.nested) throw new Error(`critap: the CRI schema ${schemaFileOf(pkg)} has no package ${pkg}`);
  return node;
}

/** The package a full type name ('runtime.v1.VersionRequest') belongs to, if it is a CRI one. */
export function packageOfType(fullName: string): CriPackage | undefined {
  const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
  return CRI_PACKAGES.find((p) => name.startsWith(`${p}.`));
}
