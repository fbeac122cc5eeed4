import type { ReportData } from '../collect.js';
import { PLEG_UNHEALTHY_MS } from '../pleg.js';
import { esc, fmtMs } from './escape.js';
import { ticks } from './timeline.js';

const W = 1000;
const H = 180;
const PAD = { left: 60, right: 10, top: 10, bottom: 24 };

/** A relist, or a bucket of them: a line up to `value`, and with `peak` a dot at the bucket's worst. */
interface Point { atMs: number; value: number; peak?: number; slow: boolean; title: string }

function chart(points: Point[], thresholdMs: number | undefined, label: string, cls: string): string {
  const from = Math.min(...points.map((p) => p.atMs));
  const to = Math.max(...points.map((p) => p.atMs));
  const span = Math.max(to - from, 1e-3);
  const top = Math.max(...points.map((p) => Math.max(p.value, p.peak ?? 0)), (thresholdMs ?? 0) * 1.15, 1e-3);
  const x = (ms: number) => PAD.left + ((ms - from) / span) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const marks = points
    .map((p) => {
      const px = x(p.atMs).toFixed(1);
      const bar = `<line class="${p.slow && p.peak === undefined ? 'slow' : 'ok'}" x1="${px}" y1="${y(0).toFixed(1)}" x2="${px}" y2="${Math.min(y(0) - 2, y(p.value)).toFixed(1)}"/>`;
      const dot = p.peak !== undefined ? `<circle class="${p.slow ? 'slow' : 'peak'}" cx="${px}" cy="${y(p.peak).toFixed(1)}" r="2.2"/>` : '';
      return `<g><title>${esc(p.title)}</title>${bar}${dot}</g>`;
    })
    .join('');
  const xt = ticks(span).map((t) => `<text class="tick-label" x="${x(from + t).toFixed(1)}" y="${H - 6}">+${esc(fmtMs(from + t))}</text>`).join('');
  const threshold = thresholdMs !== undefined && thresholdMs <= top
    ? `<line class="threshold" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(thresholdMs).toFixed(1)}" y2="${y(thresholdMs).toFixed(1)}"/><text class="threshold-label" x="${W - PAD.right - 4}" y="${(y(thresholdMs) - 4).toFixed(1)}">${esc(fmtMs(thresholdMs))}</text>`
    : '';
  return `<figure class="${cls}"><figcaption>${esc(label)}</figcaption><svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<text class="axis-label" x="4" y="${PAD.top + 10}">${esc(fmtMs(top))}</text><text class="axis-label" x="4" y="${H - PAD.bottom}">0</text>
<line class="axis" x1="${PAD.left}" y1="${y(0)}" x2="${W - PAD.right}" y2="${y(0)}"/>${threshold}${marks}${xt}</svg></figure>`;
}

export function plegSection(d: ReportData): string {
  const p = d.pleg;
  const head = `<section id="pleg"><h2>PLEG relists <small>ListPodSandbox + ListContainers per client; slower than ${esc(fmtMs(p.thresholdMs))} (--pleg-threshold) or ${esc(fmtMs(PLEG_UNHEALTHY_MS))} apart (the kubelet's PLEG-unhealthy mark) in red</small></h2>`;
  if (p.relists === 0) return `${head}<p class="note">No ListPodSandbox relists in these calls.</p></section>`;
  const facts = `<dl class="facts"><dt>relists</dt><dd data-pleg="relists">${p.relists}</dd><dt>slow</dt><dd data-pleg="slow" class="${p.slow > 0 ? 'bad' : ''}">${p.slow}</dd><dt>slowest</dt><dd>${esc(fmtMs(p.maxDurationMs))}</dd><dt>longest gap</dt><dd>${esc(fmtMs(p.maxGapMs))}</dd></dl>`;
  if (p.relists < 3) return `${head}${facts}<p class="note">Too few relists for a chart (a kubelet relists about once a second).</p></section>`;
  let duration: Point[];
  let gaps: Point[];
  let note = '';
  if (p.points) {
    duration = p.points.map((r) => ({ atMs: r.atMs, value: r.durationMs, slow: r.durationMs > p.thresholdMs, title: `${r.client} +${fmtMs(r.atMs)}: ${fmtMs(r.durationMs)} (${r.calls} calls)` }));
    gaps = p.points.filter((r) => r.gapMs !== undefined).map((r) => ({ atMs: r.atMs, value: r.gapMs!, slow: r.gapMs! > PLEG_UNHEALTHY_MS, title: `${r.client} +${fmtMs(r.atMs)}: ${fmtMs(r.gapMs!)} since the previous relist` }));
  } else {
    const b = p.buckets!;
    duration = b.map((x) => ({ atMs: x.fromMs, value: x.meanDurationMs, peak: x.maxDurationMs, slow: x.maxDurationMs > p.thresholdMs, title: `+${fmtMs(x.fromMs)}: ${x.relists} relists, mean ${fmtMs(x.meanDurationMs)}, slowest ${fmtMs(x.maxDurationMs)}${x.slow ? `, ${x.slow} slow` : ''}` }));
    gaps = b.map((x) => ({ atMs: x.fromMs, value: x.meanGapMs, peak: x.maxGapMs, slow: x.maxGapMs > PLEG_UNHEALTHY_MS, title: `+${fmtMs(x.fromMs)}: ${x.relists} relists, mean gap ${fmtMs(x.meanGapMs)}, longest ${fmtMs(x.maxGapMs)}` }));
    note = `<p class="note">${p.relists} relists: drawn as ${b.length} time buckets, each a line to its mean and a dot at its worst (red when past the mark).</p>`;
  }
  return `${head}${facts}${chart(duration, p.thresholdMs, 'relist duration', 'pleg-duration')}${gaps.length > 0 ? chart(gaps, undefined, 'time between relists (cadence)', 'pleg-gap') : ''}${note}</section>`;
}
