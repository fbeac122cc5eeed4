import { shortMethod, table } from '../record/format.js';
import type { DiffResult } from './compare.js';

export const MASKED = 'ids, digests, times, IPs, loopback ports, /tmp folders, streaming tokens';

export function diffText(d: DiffResult, callsA: number, callsB: number): string {
  const out: string[] = [
    `a: ${d.a} (${callsA} calls)`,
    `b: ${d.b} (${callsB} calls)`,
    `${d.aligned} calls aligned by life cycle: ${d.equal} equal, ${d.differing.length} differ; ${d.onlyInA.length} only in a, ${d.onlyInB.length} only in b`,
    '',
  ];
  if (d.differing.length > 0) {
    out.push(`differences (masked: ${MASKED}):`);
    for (const c of d.differing) {
      out.push(c.key);
      for (const f of c.fields) out.push(`  ${f.path}: a=${f.a ?? '(absent)'}  b=${f.b ?? '(absent)'}`);
    }
    out.push('');
  }
  for (const [label, keys] of [['only in a', d.onlyInA], ['only in b', d.onlyInB]] as const) {
    if (keys.length === 0) continue;
    out.push(`${label}:`, ...keys.map((k) => `  ${k}`), '');
  }
  const fmt = (x: number | undefined) => (x === undefined ? '-' : String(x));
  const rows = [['METHOD', 'CALLS A', 'CALLS B', 'P50 A', 'P50 B', 'B/A', 'P99 A', 'P99 B']];
  for (const r of d.latency) rows.push([shortMethod(r.method), String(r.callsA), String(r.callsB), fmt(r.p50A), fmt(r.p50B), r.ratio === undefined ? '-' : `${r.ratio}x`, fmt(r.p99A), fmt(r.p99B)]);
  out.push('latency in ms (p50 of b over p50 of a):', table(rows));
  return out.join('\n');
}
