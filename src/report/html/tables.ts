import type { CallRow, ReportData } from '../collect.js';
import { bucketLabel } from '../histogram.js';
import { esc, fmtBytes, fmtMs } from './escape.js';

function histogramSvg(counts: number[]): string {
  const w = 6;
  const h = 22;
  const max = Math.max(1, ...counts);
  const bars = counts
    .map((c, i) => {
      const bh = c === 0 ? 0 : Math.max(2, Math.round(Math.sqrt(c / max) * h));
      return `<rect x="${i * (w + 1)}" y="${h - bh}" width="${w}" height="${bh}"><title>${esc(bucketLabel(i))}: ${c}</title></rect>`;
    })
    .join('');
  return `<svg class="hist" width="${counts.length * (w + 1)}" height="${h}" role="img" aria-label="latency histogram">${bars}<line x1="0" y1="${h}" x2="${counts.length * (w + 1)}" y2="${h}"/></svg>`;
}

export function summarySection(d: ReportData): string {
  const s = d.summary;
  const codes = Object.entries(s.errorsByCode).sort((a, b) => b[1] - a[1]);
  const card = (label: string, value: string, cls = '') => `<div class="card ${cls}"><div class="label">${esc(label)}</div><div class="value">${value}</div></div>`;
  return `<section id="summary">
<div class="cards">
${card('calls', `<span data-summary="calls">${s.calls}</span>`)}
${card('errors', `<span data-summary="errors">${s.errors}</span>`, s.errors > 0 ? 'bad' : '')}
${card('time span', esc(fmtMs(s.spanMs)))}
${card('pods', String(d.pods.length + d.podsNotDrawn))}
${card('runtime', s.runtime ? `${esc(s.runtime.name)} <small>${esc(s.runtime.version)} · CRI ${esc(s.runtime.apiVersion)}</small>` : '<small>no Version call recorded</small>')}
</div>
<dl class="facts">
<dt>from</dt><dd>${esc(s.firstStart ?? '—')}</dd>
<dt>to</dt><dd>${esc(s.lastEnd ?? '—')}</dd>
<dt>clients</dt><dd>${s.clients.map((c) => `<span class="chip">${esc(c.name)} <b>${c.calls}</b></span>`).join(' ') || '—'}</dd>
<dt>errors by code</dt><dd>${codes.map(([c, n]) => `<span class="chip bad">${esc(c)} <b>${n}</b></span>`).join(' ') || 'none'}</dd>
${s.cancelled > 0 ? `<dt>watches cancelled</dt><dd>${s.cancelled} <small>(how watches end; not errors)</small></dd>` : ''}
</dl>
</section>`;
}

export function methodsSection(d: ReportData): string {
  const rows = d.methods
    .map((m) => {
      const short = m.method.replace(/^\/(?:[\w.]+\.)?(\w+)\/(\w+)$/, '$2');
      return `<tr data-method="${esc(m.method)}"><td title="${esc(m.method)}">${esc(short)}</td><td class="n" data-col="calls">${m.calls}</td>` +
        `<td class="n${m.errors > 0 ? ' bad' : ''}" data-col="errors">${m.errors}</td>` +
        `<td class="n" data-col="p50">${m.p50Ms}</td><td class="n" data-col="p90">${m.p90Ms}</td><td class="n" data-col="p99">${m.p99Ms}</td><td class="n" data-col="max">${m.maxMs}</td>` +
        `<td>${histogramSvg(m.histogram)}</td><td class="n" data-col="in">${esc(fmtBytes(m.bytesIn))}</td><td class="n" data-col="out">${esc(fmtBytes(m.bytesOut))}</td></tr>`;
    })
    .join('\n');
  return `<section id="methods"><h2>Methods</h2>
<table class="grid"><thead><tr><th>method</th><th class="n">calls</th><th class="n">errors</th><th class="n">p50 ms</th><th class="n">p90 ms</th><th class="n">p99 ms</th><th class="n">max ms</th><th>latency <small>0.1 ms … 10 s; bar height √count</small></th><th class="n">in</th><th class="n">out</th></tr></thead>
<tbody>
${rows}
</tbody></table></section>`;
}

function callRows(rows: CallRow[], d: ReportData): string {
  return rows
    .map((r) => {
      const pod = r.pod !== undefined ? d.pods[r.pod] : undefined;
      const podCell = pod ? `<a href="#pod-${r.pod}">${esc(pod.name ?? pod.sandboxId.slice(0, 12))}</a>` : '<small>no pod</small>';
      return `<tr class="opens" data-call="${r.call}"><td>${esc(r.start.slice(11, 23))}</td><td>${esc(r.method)}</td><td class="n">${esc(fmtMs(r.durationMs))}</td>` +
        `<td class="${r.status === 'OK' ? '' : 'bad'}">${esc(r.status)}</td><td>${podCell}</td><td>${esc(r.client)}</td><td class="msg">${esc(r.message)}</td></tr>`;
    })
    .join('\n');
}

const CALL_HEAD = '<thead><tr><th>start (UTC)</th><th>method</th><th class="n">duration</th><th>status</th><th>pod</th><th>client</th><th>message</th></tr></thead>';

export function slowFailedSection(d: ReportData): string {
  const failedNote = d.failedTotal > d.failed.length ? `<p class="note">${d.failedTotal} failed calls; the first ${d.failed.length} are listed.</p>` : '';
  return `<section id="slowest"><h2>Slowest calls</h2>
<table class="grid">${CALL_HEAD}<tbody>
${callRows(d.slowest, d)}
</tbody></table></section>
<section id="failed"><h2>Failed calls <small>${d.failedTotal}, DeadlineExceeded first</small></h2>
${d.failed.length === 0 ? '<p class="note">Every call ended OK.</p>' : `<table class="grid">${CALL_HEAD}<tbody>\n${callRows(d.failed, d)}\n</tbody></table>`}
${failedNote}</section>`;
}
