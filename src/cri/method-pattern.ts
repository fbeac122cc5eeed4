/**
 * Checks the method names users type into flags (--record-methods, --method, --ignore M:path):
 * a name that is no CRI method is a usage error with a suggestion, never a filter that
 * silently matches nothing. Matching itself is in src/record/method-filter.ts.
 */
import { methodMatches } from '../record/method-filter.js';
import { allMethods } from './methods.js';
import { didYouMean } from './suggest.js';

export class MethodPatternError extends Error {
  /** A mistake in what the user typed: the CLI prints it as a usage error (exit code 2). */
  readonly usage = true;
}

/** Throws MethodPatternError unless the pattern matches at least one CRI method. */
export function checkMethodPattern(pattern: string, flag: string): void {
  const p = pattern.trim();
  const methods = allMethods();
  if (methods.some((m) => methodMatches(p, m.path))) return;
  const typedName = p.slice(p.lastIndexOf('/') + 1);
  const hint = didYouMean(typedName, methods.map((m) => m.name));
  throw new MethodPatternError(`${flag} "${pattern}" names no CRI method${hint}; e.g. PullImage, RuntimeService/Version or /runtime.v1.RuntimeService/Version`);
}
