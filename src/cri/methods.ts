/**
 * The CRI method table: gRPC path → service, method, streaming flag and message types.
 * Built from the schema's JSON (no protobuf.js, so `critap stats` does not load it), a package
 * at a time when a path of it is first looked up; lookupMethod is on the proxy's per-call path,
 * so after that it is a Map get.
 */
import { CRI_PACKAGES, packageNode, type CriPackage, type SchemaNode } from './schema-files.js';

export interface MethodInfo {
  /** '/runtime.v1.RuntimeService/Version' */
  path: string;
  pkg: CriPackage;
  service: 'RuntimeService' | 'ImageService';
  name: string;
  /** Fully qualified, without a leading dot: 'runtime.v1.VersionRequest'. */
  requestType: string;
  responseType: string;
  serverStreaming: boolean;
}

const SERVICES = ['RuntimeService', 'ImageService'] as const;

const byPath = new Map<string, MethodInfo>();
/** Each package's methods in schema order, built when a path of that package is first looked up. */
const byPackage = new Map<CriPackage, MethodInfo[]>();

function methodsOf(pkg: CriPackage): MethodInfo[] {
  const known = byPackage.get(pkg);
  if (known) return known;
  const ns = packageNode(pkg);
  const list: MethodInfo[] = [];
  for (const service of SERVICES) {
    const methods = ns.nested?.[service]?.methods;
    if (!methods) throw new Error(`critap: the CRI schema has no service ${pkg}.${service}`);
    for (const [name, m] of Object.entries(methods)) {
      const info: MethodInfo = {
        path: `/${pkg}.${service}/${name}`,
        pkg,
        service,
        name,
        requestType: messageName(pkg, ns, m.requestType),
        responseType: messageName(pkg, ns, m.responseType),
        serverStreaming: m.responseStream === true,
      };
      list.push(Object.freeze(info));
    }
  }
  for (const info of list) byPath.set(info.path, info);
  byPackage.set(pkg, list);
  return list;
}

/**
 * A method's request or response type as a full name. The CRI names them by their bare name in
 * the same package ('VersionRequest'); anything else (a dotted or nested name) is refused rather
 * than guessed, so a schema change that needs real name resolution fails loudly here.
 */
function messageName(pkg: CriPackage, ns: SchemaNode, typeName: string): string {
  const bare = typeName.startsWith(`.${pkg}.`) ? typeName.slice(pkg.length + 2) : typeName;
  if (bare.includes('.') || ns.nested?.[bare]?.fields === undefined) {
    throw new Error(`critap: CRI schema method type '${typeName}' is not a message of ${pkg}`);
  }
  return `${pkg}.${bare}`;
}

export function lookupMethod(path: string): MethodInfo | undefined {
  const hit = byPath.get(path);
  if (hit !== undefined || byPackage.size === CRI_PACKAGES.length) return hit;
  // A reader of a runtime.v1 recording never reads the v1alpha2 schema.
  const pkg = CRI_PACKAGES.find((p) => path.startsWith(`/${p}.`));
  if (pkg === undefined || byPackage.has(pkg)) return undefined;
  methodsOf(pkg);
  return byPath.get(path);
}

/** Every CRI method, newest package first, in schema order. */
export function allMethods(): MethodInfo[] {
  return CRI_PACKAGES.flatMap((pkg) => methodsOf(pkg));
}

/** Accepts 'runtime.v1', 'v1', 'runtime.v1alpha2' or 'v1alpha2'. */
function normalizePackage(pkg: string | undefined): CriPackage | undefined {
  if (pkg === undefined) return undefined;
  const full = pkg.startsWith('runtime.') ? pkg : `runtime.${pkg}`;
  return (CRI_PACKAGES as readonly string[]).includes(full) ? (full as CriPackage) : undefined;
}

/**
 * Resolves what a person types: 'Version', 'RuntimeService/Version',
 * 'runtime.v1.RuntimeService/Version' or the full path. Without a package (in the
 * name or as `pkg`), runtime.v1 wins over v1alpha2. An exact-case match wins; a
 * case-insensitive one is accepted when it is unique.
 */
export function resolveMethodName(nameOrPath: string, pkg?: string): MethodInfo | undefined {
  const wanted = nameOrPath.trim().replace(/^\//, '');
  if (wanted === '') return undefined;
  const pkgPreference = pkg === undefined ? [...CRI_PACKAGES] : [normalizePackage(pkg)];
  if (pkgPreference[0] === undefined) return undefined;
  const parts = wanted.split('/');
  if (parts.length > 2) return undefined;
  const methodName = parts[parts.length - 1]!;
  let service: string | undefined;
  let pkgs = pkgPreference as CriPackage[];
  if (parts.length === 2) {
    const qualifier = parts[0]!;
    const dot = qualifier.lastIndexOf('.');
    service = dot < 0 ? qualifier : qualifier.slice(dot + 1);
    if (dot >= 0) {
      const named = normalizePackage(qualifier.slice(0, dot));
      if (named === undefined || (pkg !== undefined && named !== pkgPreference[0])) return undefined;
      pkgs = [named];
    }
  }
  for (const caseSensitive of [true, false]) {
    const same = (a: string, b: string) => (caseSensitive ? a === b : a.toLowerCase() === b.toLowerCase());
    for (const p of pkgs) {
      const hits = allMethods().filter(
        (m) => m.pkg === p && same(m.name, methodName) && (service === undefined || same(m.service, service)),
      );
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) return undefined; // ambiguous across services: the user must name one
    }
  }
  return undefined;
}
