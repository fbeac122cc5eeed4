/** Small formatting helpers for the CLI tables. */

export function humanBytes(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n}B` : `${v.toFixed(v < 10 ? 1 : 0)}${units[u]}`;
}

export function humanDuration(ns: bigint): string {
  const s = Number(ns / 1_000_000n) / 1000;
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 120) return `${s.toFixed(1)}s`;
  if (s < 7200) return `${(s / 60).toFixed(1)}m`;
  if (s < 172800) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86400).toFixed(1)}d`;
}

/** `/runtime.v1.RuntimeService/Version` → `RuntimeService/Version` (the package is rarely news). */
export function shortMethod(path: string): string {
  const m = /^\/(?:[\w.]+\.)?(\w+\/\w+)$/.exec(path);
  return m ? m[1]! : path;
}

/** Left-aligned columns, the last one free-form. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}
