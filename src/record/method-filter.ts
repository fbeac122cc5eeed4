/**
 * Method patterns as users write them on the command line: the full gRPC path
 * (`/runtime.v1.RuntimeService/Version`), `Service/Method` with a short or package-qualified
 * service (`RuntimeService/Version`, `runtime.v1.ImageService/PullImage`), or a bare method
 * name (`PullImage`). Matching ignores case: no two CRI methods differ only in case, and
 * `runpodsandbox` means RunPodSandbox to everyone who types it.
 */
export function methodMatches(pattern: string, path: string): boolean {
  return matchesExactCase(pattern.toLowerCase(), path.toLowerCase());
}

function matchesExactCase(pattern: string, path: string): boolean {
  if (pattern.startsWith('/')) return pattern === path;
  const slash = path.lastIndexOf('/');
  const method = path.slice(slash + 1);
  const fullService = path.slice(path.startsWith('/') ? 1 : 0, slash);
  const p = pattern.lastIndexOf('/');
  if (p < 0) return pattern === method;
  if (pattern.slice(p + 1) !== method) return false;
  const svc = pattern.slice(0, p);
  return svc === fullService || fullService.endsWith('.' + svc);
}

export function matchesAny(patterns: readonly string[], path: string): boolean {
  for (const p of patterns) if (methodMatches(p, path)) return true;
  return false;
}

/** The recorder's include/exclude choice; an empty include list means every method. */
export function makeMethodFilter(include: readonly string[] = [], exclude: readonly string[] = []): (path: string) => boolean {
  if (include.length === 0 && exclude.length === 0) return () => true;
  // Decisions are cached per path: a proxy sees a few dozen distinct paths, millions of times.
  const cache = new Map<string, boolean>();
  return (path) => {
    let ok = cache.get(path);
    if (ok === undefined) {
      ok = (include.length === 0 || matchesAny(include, path)) && !matchesAny(exclude, path);
      if (cache.size < 10_000) cache.set(path, ok);
    }
    return ok;
  };
}
