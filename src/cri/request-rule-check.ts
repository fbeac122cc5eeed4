/**
 * Up-front check of a `[Method:]path` rule about request fields (replay --ignore): the method
 * must be a CRI method and the path must exist in its request (any request without a method).
 */
import { checkFieldPath, FieldPathError } from './field-path.js';
import { checkMethodPattern } from './method-pattern.js';
import { allMethods } from './methods.js';
import { methodMatches } from '../record/method-filter.js';

export function checkRequestRule(rule: { text: string; method?: string; segments: readonly string[] }, flag: string): void {
  if (rule.method !== undefined) checkMethodPattern(rule.method, `${flag} "${rule.text}": method`);
  const methods = allMethods().filter((m) => rule.method === undefined || methodMatches(rule.method, m.path));
  try {
    checkFieldPath(rule.segments, [...new Set(methods.map((m) => m.requestType))]);
  } catch (err) {
    throw new FieldPathError(`${flag} "${rule.text}": ${(err as Error).message}`);
  }
}
