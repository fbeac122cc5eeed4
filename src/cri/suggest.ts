/** "Did you mean" for names a person typed: the closest candidates by edit distance. */

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * Up to three candidates close enough to be what was meant (case ignored; a candidate that
 * contains the typed word, like ContainerStats for Stats, counts as close), best first.
 */
export function closest(typed: string, candidates: Iterable<string>): string[] {
  const t = typed.toLowerCase();
  const scored: [string, number][] = [];
  for (const c of new Set(candidates)) {
    const l = c.toLowerCase();
    const d = l.includes(t) && t.length >= 3 ? Math.min(distance(t, l), 2) : distance(t, l);
    if (d <= Math.max(2, Math.floor(t.length / 3))) scored.push([c, d]);
  }
  return scored.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).slice(0, 3).map(([c]) => c);
}

/** ' (did you mean "A" or "B"?)', or '' when nothing is close. */
export function didYouMean(typed: string, candidates: Iterable<string>): string {
  const near = closest(typed, candidates);
  if (near.length === 0) return '';
  const quoted = near.map((n) => `"${n}"`);
  return ` (did you mean ${quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`}?)`;
}
