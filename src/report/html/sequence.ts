import type { ReportData } from '../collect.js';
import { esc, fmtMs } from './escape.js';

const COL = { client: 110, critap: 430, runtime: 750 };
const W = 900;
const STEP_H = 40;

function diagram(d: ReportData, seq: ReportData['sequences'][number]): string {
  const clients = [...new Set(seq.steps.map((s) => s.client))];
  const h = 60 + seq.steps.length * STEP_H + 20;
  const head = (x: number, label: string) => `<rect class="actor" x="${x - 70}" y="6" width="140" height="28" rx="6"/><text class="actor-label" x="${x}" y="25">${esc(label)}</text><line class="lifeline" x1="${x}" y1="34" x2="${x}" y2="${h - 6}"/>`;
  const steps = seq.steps
    .map((s, i) => {
      const y = 56 + i * STEP_H;
      const who = clients.length > 1 ? `${s.client}: ` : '';
      const res = s.error ? `${s.error} · ${fmtMs(s.durationMs)}` : `OK · ${fmtMs(s.durationMs)}`;
      return `<g class="step opens${s.error ? ' err' : ''}" data-call="${s.call}">` +
        `<rect class="hit" x="0" y="${y - 16}" width="${W}" height="${STEP_H}"/>` +
        `<text class="t" x="4" y="${y + 4}">+${esc(fmtMs(s.atMs - (seq.steps[0]?.atMs ?? 0)))}</text>` +
        `<line class="req" x1="${COL.client}" y1="${y}" x2="${COL.runtime - 4}" y2="${y}" marker-end="url(#arrow)"/>` +
        `<circle class="tap" cx="${COL.critap}" cy="${y}" r="3.5"/>` +
        `<text class="call-label" x="${(COL.client + COL.critap) / 2}" y="${y - 5}">${esc(who + s.method)}${s.container ? ` <tspan class="ctr">${esc(s.container)}</tspan>` : ''}</text>` +
        `<line class="res" x1="${COL.runtime}" y1="${y + 14}" x2="${COL.client + 4}" y2="${y + 14}" marker-end="url(#arrow-back)"/>` +
        `<circle class="tap" cx="${COL.critap}" cy="${y + 14}" r="3.5"/>` +
        `<text class="res-label" x="${(COL.critap + COL.runtime) / 2}" y="${y + 10}">${esc(res)}</text></g>`;
    })
    .join('');
  const pod = d.pods[seq.pod]!;
  const runtime = d.summary.runtime?.name ?? 'runtime';
  return `<div class="seq" data-pod="${seq.pod}"${seq === d.sequences[0] ? '' : ' hidden'}>
<svg width="${W}" height="${h}" viewBox="0 0 ${W} ${h}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z"/></marker>
<marker id="arrow-back" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z"/></marker></defs>
${head(COL.client, clients.join(', ') || 'client')}${head(COL.critap, 'critap')}${head(COL.runtime, runtime)}
${steps}</svg>
${seq.omitted > 0 ? `<p class="note">${seq.omitted} later calls of ${esc(pod.name ?? pod.sandboxId)} are not drawn (at most ${d.limits.sequenceCalls}).</p>` : ''}</div>`;
}

export function sequenceSection(d: ReportData): string {
  if (d.sequences.length === 0) return '<section id="sequence"><h2>Sequence of one pod</h2><p class="note">No pod to draw.</p></section>';
  const options = d.sequences
    .map((s) => {
      const p = d.pods[s.pod]!;
      return `<option value="${s.pod}">${esc(p.name ? `${p.namespace ? `${p.namespace}/` : ''}${p.name}` : p.sandboxId.slice(0, 13))} (${p.sandboxId.slice(0, 13)})</option>`;
    })
    .join('');
  return `<section id="sequence"><h2>Sequence of one pod <small>client ↔ critap ↔ runtime; click a call for its decoded request and response</small></h2>
<label>pod <select id="seq-pod">${options}</select></label>
${d.sequences.map((s) => diagram(d, s)).join('\n')}
</section>`;
}
