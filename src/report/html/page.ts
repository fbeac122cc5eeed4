/** The whole report page: one HTML string with its style, script and data inline. */
import type { ReportData } from '../collect.js';
import { esc, jsonForScript } from './escape.js';
import { plegSection } from './pleg-chart.js';
import { sequenceSection } from './sequence.js';
import { SCRIPT } from './script.js';
import { STYLE } from './style.js';
import { methodsSection, slowFailedSection, summarySection } from './tables.js';
import { timelineSection } from './timeline.js';

/** `extra`: sections of other commands (diff) placed after the summary. */
export function renderReport(d: ReportData, version: string, extra = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>critap report · ${esc(d.source)}</title>
<style>${STYLE}</style></head>
<body>
<header><h1>CRI traffic report</h1><span class="src">${esc(d.source)}${d.filters ? ` · ${esc(d.filters)}` : ''}</span>
<nav><a href="#methods">methods</a><a href="#timeline">pods</a><a href="#sequence">sequence</a><a href="#pleg">PLEG</a><a href="#slowest">slowest</a><a href="#failed">failed</a></nav></header>
<main>
${summarySection(d)}
${extra}
${methodsSection(d)}
${timelineSection(d)}
${sequenceSection(d)}
${plegSection(d)}
${slowFailedSection(d)}
</main>
<footer>made by critap ${esc(version)} from a recording; bodies are shown as recorded (redacted where the recorder redacted them).</footer>
<aside id="details" hidden></aside>
<script type="application/json" id="critap-details">${jsonForScript(d.details)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
