/**
 * The CRI schema, loaded once from the project's proto/ files. Field names are
 * lowerCamelCase (keepCase: false), the protobuf JSON names crictl prints with -o json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The CRI packages critap knows, newest first. */
export const CRI_PACKAGES = ['runtime.v1', 'runtime.v1alpha2'] as const;
export type CriPackage = (typeof CRI_PACKAGES)[number];

const PROTO_FILES = ['proto/runtime/v1/api.proto', 'proto/runtime/v1alpha2/api.proto'];

/** The package root: the nearest ancestor holding proto/ (dist/src/cri/ when built, src/cri/ from source). */
export function packageRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, PROTO_FILES[0]!))) return dir;
    if (dirname(dir) === dir) throw new Error(`critap: cannot find ${PROTO_FILES[0]} above ${start}`);
  }
}

let root: protobuf.Root | undefined;

export function criRoot(): protobuf.Root {
  if (root) return root;
  const base = packageRoot();
  const loaded = new protobuf.Root();
  loaded.loadSync(PROTO_FILES.map((f) => join(base, f)), { keepCase: false });
  loaded.resolveAll();
  root = loaded;
  return root;
}

const typeCache = new Map<string, protobuf.Type>();

/** A message type by its full name ('runtime.v1.VersionRequest'; a leading dot is allowed). */
export function lookupType(fullName: string): protobuf.Type {
  const cached = typeCache.get(fullName);
  if (cached) return cached;
  const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
  const found = criRoot().lookup(name, [protobuf.Type]);
  // lookup() also searches parent namespaces; only an exact full-name match counts.
  if (!(found instanceof protobuf.Type) || found.fullName !== `.${name}`) {
    throw new Error(`critap: unknown CRI message type '${fullName}'`);
  }
  typeCache.set(fullName, found);
  return found;
}
