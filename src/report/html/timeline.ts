import type { ReportData } from '../collect.js';
import type { Bar, PodLane } from '../pods.js';
import { esc, fmtMs } from './escape.js';

const LABEL_W = 230;
const PLOT_W = 860;
const ROW_H = 20;
const LANE_GAP = 10;

/** Tick positions over [0, span]: about five, at round numbers. */
export function ticks(spanMs: number): number[] {
  if (spanMs <= 0) return [0];
  const raw = spanMs / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = 0; t <= spanMs + 1e-9; t += step) out.push(t);
  return out;
}

function podLabel(p: PodLane): string {
  return p.name ? `${p.namespace ? `${p.namespace}/` : ''}${p.name}` : p.sandboxId.slice(0, 13);
}

export function timelineSection(d: ReportData): string {
  if (d.pods.length === 0) return '<section id="timeline"><h2>Pod life cycles</h2><p class="note">No call in this recording names a pod sandbox.</p></section>';
  const from = Math.min(...d.pods.map((p) => p.firstMs));
  const to = Math.max(...d.pods.map((p) => p.lastMs));
  const span = Math.max(to - from, 1e-3);
  const x = (ms: number) => LABEL_W + ((ms - from) / span) * PLOT_W;
  const parts: string[] = [];
  let y = 24;
  const barsOf = (bars: Bar[], rowY: number) =>
    bars
      .map((b) => {
        const bx = x(b.atMs);
        const bw = Math.max(2, x(b.atMs + b.durationMs) - bx);
        const cls = `bar opens m-${b.method}${b.error ? ' err' : ''}`;
        return `<rect class="${esc(cls)}" data-call="${b.call}" data-at="${b.atMs}" data-dur="${b.durationMs}" x="${bx.toFixed(1)}" y="${rowY + 3}" width="${bw.toFixed(1)}" height="${ROW_H - 6}" rx="2"><title>${esc(b.method)} · ${esc(fmtMs(b.durationMs))}${b.error ? ` · ${esc(b.error)}` : ''}</title></rect>`;
      })
      .join('');
  d.pods.forEach((p, i) => {
    const laneTop = y;
    const rows = 1 + p.containers.length;
    parts.push(`<g class="lane" id="pod-${i}" data-from="${p.firstMs}" data-to="${p.lastMs}">`);
    parts.push(`<rect class="lane-bg" x="0" y="${laneTop}" width="${LABEL_W + PLOT_W + 10}" height="${rows * ROW_H}"/>`);
    parts.push(`<text class="pod-name" x="6" y="${laneTop + 14}">${esc(podLabel(p))}</text>`);
    parts.push(barsOf(p.bars, laneTop));
    if (p.runAtMs !== undefined && p.readyMs !== undefined) {
      const x1 = x(p.runAtMs);
      const x2 = x(p.runAtMs + p.readyMs);
      const ly = laneTop + rows * ROW_H - 2;
      parts.push(`<line class="ready" data-at="${p.runAtMs}" data-dur="${p.readyMs}" x1="${x1.toFixed(1)}" y1="${ly}" x2="${x2.toFixed(1)}" y2="${ly}"/>`);
      parts.push(`<text class="ready-label" data-at="${p.runAtMs + p.readyMs}" x="${Math.min(x2 + 4, LABEL_W + PLOT_W - 90).toFixed(1)}" y="${laneTop + 14}">ready in ${esc(fmtMs(p.readyMs))}</text>`);
    }
    p.containers.forEach((c, j) => {
      const rowY = laneTop + (j + 1) * ROW_H;
      parts.push(`<text class="ctr-name" x="18" y="${rowY + 14}">↳ ${esc(c.name ?? c.id.slice(0, 12))}</text>`);
      parts.push(barsOf(c.bars, rowY));
    });
    parts.push('</g>');
    y += rows * ROW_H + LANE_GAP;
  });
  const axis = ticks(span)
    .map((t) => `<line class="tick shared" x1="${x(from + t).toFixed(1)}" y1="18" x2="${x(from + t).toFixed(1)}" y2="${y}"/><text class="tick-label shared" x="${x(from + t).toFixed(1)}" y="12">+${esc(fmtMs(t))}</text>`)
    .join('');
  const omitted = d.pods.reduce((n, p) => n + p.omitted, 0);
  const notes = [
    d.podsNotDrawn > 0 ? `${d.podsNotDrawn} more pods are not drawn (the first ${d.pods.length} are).` : '',
    omitted > 0 ? `${omitted} status/list calls of busy pods are not drawn as bars (life-cycle calls always are; at most ${d.limits.barsPerLane} bars a lane).` : '',
  ].filter(Boolean);
  return `<section id="timeline"><h2>Pod life cycles <small>one lane per pod sandbox, a row per container; time from the first pod call</small></h2>
<div class="legend"><span class="sw m-RunPodSandbox"></span>run/create/start <span class="sw m-StopContainer"></span>stop/remove <span class="sw other"></span>other <span class="sw err"></span>error <span class="sw ready"></span>RunPodSandbox → last StartContainer</div>
<label class="toggle"><input type="checkbox" id="lane-scale"> each pod on its own time scale (its first call to its last), to compare start-ups</label>
<div class="scroll"><svg class="timeline" data-label-w="${LABEL_W}" data-plot-w="${PLOT_W}" data-from="${from}" data-to="${to}" width="${LABEL_W + PLOT_W + 10}" height="${y}" viewBox="0 0 ${LABEL_W + PLOT_W + 10} ${y}">${axis}${parts.join('')}</svg></div>
${notes.map((n) => `<p class="note">${esc(n)}</p>`).join('')}</section>`;
}
