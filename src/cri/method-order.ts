/**
 * Method paths in the order String.prototype.localeCompare puts them, without waking ICU's
 * collator: its first use costs 10-30 ms of CPU, a tenth of `critap stats`.
 *
 * For paths of letters, digits, '.' and '/' (every gRPC path critap sees), the root collation
 * compares the case-folded strings first ('.' < '/' < digits < letters, as in code points), then,
 * at the first difference of case only, puts the lowercase letter first. Anything else (a path
 * with other characters) goes to localeCompare itself.
 */
const PLAIN = /^[A-Za-z0-9./]*$/;

export function compareMethodPaths(a: string, b: string): number {
  if (!PLAIN.test(a) || !PLAIN.test(b)) return a.localeCompare(b);
  const fa = a.toLowerCase();
  const fb = b.toLowerCase();
  if (fa !== fb) return fa < fb ? -1 : 1;
  for (let i = 0; i < a.length; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    // Same letter, different case: lowercase (the larger code) sorts first.
    if (ca !== cb) return ca > cb ? -1 : 1;
  }
  return 0;
}
