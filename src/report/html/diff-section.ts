import type { DiffResult } from '../../diff/compare.js';
import { MASKED } from '../../diff/text.js';
import { esc } from './escape.js';

/** `critap diff --report`: the comparison, as a section of the report page of b. */
export function diffSection(d: DiffResult): string {
  const rows = d.latency
    .map((r) => {
      const cls = r.ratio === undefined ? '' : r.ratio >= 2 ? ' bad' : r.ratio <= 0.5 ? ' good' : '';
      return `<tr><td>${esc(r.method.replace(/^.*\//, ''))}</td><td class="n">${r.callsA}</td><td class="n">${r.callsB}</td><td class="n">${esc(r.p50A ?? '-')}</td><td class="n">${esc(r.p50B ?? '-')}</td><td class="n${cls}" data-col="ratio">${r.ratio === undefined ? '-' : `${r.ratio}×`}</td><td class="n">${esc(r.p99A ?? '-')}</td><td class="n">${esc(r.p99B ?? '-')}</td></tr>`;
    })
    .join('\n');
  const diffs = d.differing
    .map((c) => `<details><summary>${esc(c.key)} <small>${c.fields.length} field${c.fields.length === 1 ? '' : 's'}</small></summary><table class="grid"><thead><tr><th>field</th><th>a</th><th>b</th></tr></thead><tbody>${c.fields.map((f) => `<tr><td><code>${esc(f.path)}</code></td><td class="msg">${esc(f.a ?? '(absent)')}</td><td class="msg">${esc(f.b ?? '(absent)')}</td></tr>`).join('')}</tbody></table></details>`)
    .join('\n');
  const only = (label: string, keys: string[]) => (keys.length === 0 ? '' : `<p><b>${esc(label)}</b>: ${keys.map((k) => esc(k)).join('; ')}</p>`);
  return `<section id="diff"><h2>Compared with another recording <small>a: ${esc(d.a)} · b: ${esc(d.b)} (this page)</small></h2>
<p>${d.aligned} calls aligned by life cycle: <b data-diff="equal">${d.equal}</b> equal, <b data-diff="differ">${d.differing.length}</b> differ; ${d.onlyInA.length} only in a, ${d.onlyInB.length} only in b. Masked: ${esc(MASKED)}.</p>
${only('only in a', d.onlyInA)}${only('only in b', d.onlyInB)}
<table class="grid"><thead><tr><th>method</th><th class="n">calls a</th><th class="n">calls b</th><th class="n">p50 a ms</th><th class="n">p50 b ms</th><th class="n">b/a</th><th class="n">p99 a ms</th><th class="n">p99 b ms</th></tr></thead><tbody>
${rows}
</tbody></table>
${diffs}
</section>`;
}
