/**
 * The CRI schema as protobuf.js types. Field names are lowerCamelCase (keepCase: false), the
 * protobuf JSON names crictl prints with -o json.
 *
 * Built from the JSON in proto/ (schema-files.ts), one package at a time: a command that reads a
 * runtime.v1 recording never builds the v1alpha2 types. protobuf.js's light build is enough, as
 * nothing parses .proto text at run time.
 */
import protobuf from 'protobufjs/light.js';
import { CRI_PACKAGES, packageOfType, schemaJson, type CriPackage } from './schema-files.js';

export { CRI_PACKAGES, packageRoot, type CriPackage } from './schema-files.js';

let root: protobuf.Root | undefined;
const built = new Set<CriPackage>();

/** The shared Root with `pkg` in it. Every package hangs off the one Root, so a type is one object. */
function rootWith(pkg: CriPackage): protobuf.Root {
  if (built.has(pkg)) return root!;
  const json = schemaJson(pkg);
  if (!root) {
    root = protobuf.Root.fromJSON(json as protobuf.INamespace);
  } else {
    // The packages share the 'runtime' namespace: add this package's namespace under it.
    const [outer, inner] = pkg.split('.') as [string, string];
    const ns = protobuf.Namespace.fromJSON(inner, json.nested![outer]!.nested![inner]! as protobuf.INamespace);
    const shared = root.get(outer);
    if (!(shared instanceof protobuf.Namespace)) throw new Error(`critap: the CRI schema has no '${outer}' namespace`);
    shared.add(ns);
  }
  root.resolveAll();
  decodeFirst(root.lookup(pkg, [protobuf.Namespace]) as protobuf.Namespace);
  built.add(pkg);
  return root;
}

/**
 * protobuf.js builds all five codecs of a type (encode, decode, verify, fromObject, toObject) on its
 * first use, each by generating source and compiling it: about 14% of `critap show`'s CPU went
 * there. Reading a recording only decodes, so each type's first decode builds its decoder alone, with the
 * same generator protobuf.js uses; anything else still goes through protobuf.js's full setup, which
 * then replaces this decoder with an identical one.
 */
function decodeFirst(ns: protobuf.NamespaceBase): void {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) {
      nested.decode = function decodeSetup(this: protobuf.Type, reader: protobuf.Reader | Uint8Array, length?: number) {
        const types = this.fieldsArray.map((f) => f.resolve().resolvedType);
        const build = protobuf.decoder(this) as (scope: object) => protobuf.Type['decode'];
        this.decode = build({ Reader: protobuf.Reader, types, util: protobuf.util, C: this.ctor });
        return this.decode(reader, length);
      };
    }
    if (nested instanceof protobuf.Namespace) decodeFirst(nested);
  }
}

/** Every CRI package, built. */
export function criRoot(): protobuf.Root {
  for (const pkg of CRI_PACKAGES) rootWith(pkg);
  return root!;
}

const typeCache = new Map<string, protobuf.Type>();

/** A message type by its full name ('runtime.v1.VersionRequest'; a leading dot is allowed). */
export function lookupType(fullName: string): protobuf.Type {
  const cached = typeCache.get(fullName);
  if (cached) return cached;
  const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
  const pkg = packageOfType(name);
  const found = pkg !== undefined ? rootWith(pkg).lookup(name, [protobuf.Type]) : null;
  // lookup() also searches parent namespaces; only an exact full-name match counts.
  if (!(found instanceof protobuf.Type) || found.fullName !== `.${name}`) {
    throw new Error(`critap: unknown CRI message type '${fullName}'`);
  }
  typeCache.set(fullName, found);
  return found;
}
