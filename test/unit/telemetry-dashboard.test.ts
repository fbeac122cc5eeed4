import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  dashboardQueries,
  labelValuesSelector,
  resolveVariables,
} from '../../src/telemetry/dashboard-queries.js';
import { ATTR, METRIC } from '../../src/telemetry/names.js';

// dist/test/unit/ → the package root
const dashboard = JSON.parse(readFileSync(new URL('../../../dashboards/critap-cri.json', import.meta.url), 'utf8'));
const queries = dashboardQueries(dashboard);

const SERIES = new Set<string>([
  ...Object.values(METRIC),
  ...['_bucket', '_count', '_sum'].map((s) => METRIC.duration + s),
]);
const LABELS = new Set(['rpc_service', 'rpc_method', 'grpc_code', 'le', 'instance', 'job']);
const PROMQL_WORDS = new Set([
  'sum', 'by', 'without', 'rate', 'increase', 'histogram_quantile', 'label_values', 'topk', 'max', 'avg', 'on', 'ignoring',
]);

/** Checks (), [] and {} pair up outside string literals; returns the text with strings blanked. */
function checkBrackets(text: string): string {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let blanked = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      const end = text.indexOf('"', i + 1);
      assert.ok(end > i, `unterminated string in: ${text}`);
      blanked += '""';
      i = end;
      continue;
    }
    if ('([{'.includes(ch)) stack.push(ch);
    if (ch in pairs) assert.equal(stack.pop(), pairs[ch], `unbalanced ${ch} in: ${text}`);
    blanked += ch;
  }
  assert.equal(stack.length, 0, `unclosed ${stack.join('')} in: ${text}`);
  return blanked;
}

test('the dashboard is importable: Prometheus and Tempo inputs, every datasource bound to one of them', () => {
  const inputs = dashboard.__inputs as { name: string; type: string; pluginId: string }[];
  assert.deepEqual(
    inputs.map((i) => [i.name, i.type, i.pluginId]),
    [
      ['DS_PROMETHEUS', 'datasource', 'prometheus'],
      ['DS_TEMPO', 'datasource', 'tempo'],
    ],
  );
  assert.equal(dashboard.uid, 'critap-cri');
  const ids = new Set<number>();
  const text = JSON.stringify(dashboard);
  for (const m of text.matchAll(/"uid":\s*"(\$\{[^}]+\})"/g)) assert.ok(['${DS_PROMETHEUS}', '${DS_TEMPO}'].includes(m[1]!), m[1]);
  const boxes: { x: number; y: number; w: number; h: number; title: string }[] = [];
  for (const p of dashboard.panels as { id: number; title: string; type: string; datasource?: { uid: string }; gridPos: { x: number; y: number; w: number; h: number } }[]) {
    assert.ok(!ids.has(p.id), `duplicate panel id ${p.id}`);
    ids.add(p.id);
    assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`);
    if (p.type !== 'row') assert.ok(p.datasource?.uid === '${DS_PROMETHEUS}' || p.datasource?.uid === '${DS_TEMPO}', p.title);
    for (const b of boxes) {
      const overlap = p.gridPos.x < b.x + b.w && b.x < p.gridPos.x + p.gridPos.w && p.gridPos.y < b.y + b.h && b.y < p.gridPos.y + p.gridPos.h;
      assert.ok(!overlap, `${p.title} overlaps ${b.title}`);
    }
    boxes.push({ ...p.gridPos, title: p.title });
  }
});

test('the dashboard has the panels the brief asks for', () => {
  const types = (dashboard.panels as { type: string; title: string }[]).map((p) => `${p.type}:${p.title}`);
  for (const want of [/timeseries:p50/, /timeseries:p90/, /timeseries:p99/, /heatmap:/, /Errors per second by method and code/, /in flight/i, /table:Slowest CRI spans/, /Slowest pods/]) {
    assert.ok(types.some((t) => want.test(t)), `${want} among ${types.join(', ')}`);
  }
  const p99 = queries.find((q) => q.panel.startsWith('p99'))!;
  assert.match(p99.text, /histogram_quantile\(0\.99, sum by \(le, rpc_method\)/);
});

test('every Prometheus query uses only critap metric names and labels, and parses as far as brackets go', () => {
  const prom = queries.filter((q) => q.kind !== 'tempo');
  assert.ok(prom.length >= 12, `${prom.length} queries`);
  for (const q of prom) {
    const expr = q.kind === 'variable' ? labelValuesSelector(q.text) : q.text;
    assert.ok(expr, `${q.panel}: label_values(selector, label) expected, got ${q.text}`);
    const resolved = resolveVariables(expr);
    assert.ok(!resolved.includes('$'), `${q.panel}: unresolved variable in ${resolved}`);
    const bare = checkBrackets(resolved);
    const metrics = [...bare.matchAll(/\b(critap_\w+)/g)].map((m) => m[1]!);
    assert.ok(metrics.length > 0, `${q.panel}: no critap metric in ${resolved}`);
    for (const m of metrics) assert.ok(SERIES.has(m), `${q.panel}: unknown series ${m}`);
    // Label names: inside selectors (name op "value") and in by (...) clauses.
    for (const m of resolved.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"/g)) assert.ok(LABELS.has(m[1]!), `${q.panel}: unknown label ${m[1]}`);
    for (const m of bare.matchAll(/\bby \(([^)]*)\)/g)) {
      for (const l of m[1]!.split(',').map((s) => s.trim())) assert.ok(LABELS.has(l), `${q.panel}: unknown label ${l} in by()`);
    }
    // Every other word must be a PromQL function/keyword, a duration or a number.
    const words = bare.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '').replace(/\bby \([^)]*\)/g, '').match(/[A-Za-z_]\w*/g) ?? [];
    for (const w of words) assert.ok(PROMQL_WORDS.has(w) || SERIES.has(w), `${q.panel}: unexpected word ${w} in ${resolved}`);
    // Range selectors hold a duration.
    for (const m of bare.matchAll(/\[([^\]]*)\]/g)) assert.match(m[1]!, /^\d+[smhdw]$/, `${q.panel}: range [${m[1]}]`);
  }
});

test('every TraceQL query uses attributes critap puts on its spans', () => {
  const tempo = queries.filter((q) => q.kind === 'tempo');
  assert.ok(tempo.length >= 2);
  const known = new Set<string>(Object.values(ATTR));
  for (const q of tempo) {
    checkBrackets(q.text);
    for (const m of q.text.matchAll(/\bspan\.([\w.]+)/g)) assert.ok(known.has(m[1]!), `${q.panel}: span.${m[1]} is not an attribute critap sets`);
    assert.match(q.text, /resource\.service\.name = "\$tempo_service"/);
  }
});

test('variable substitution: known variables resolve, unknown ones are reported', () => {
  assert.equal(resolveVariables('rate(x{a=~"$method"}[$__rate_interval])'), 'rate(x{a=~".*"}[5m])');
  assert.equal(resolveVariables('${service}', { service: 'runtime.v1.RuntimeService' }), 'runtime.v1.RuntimeService');
  assert.throws(() => resolveVariables('$nope'), /critap: dashboard query uses \$nope/);
  assert.equal(labelValuesSelector('label_values(critap_rpc_in_flight{instance=~"$instance"}, rpc_method)'), 'critap_rpc_in_flight{instance=~"$instance"}');
});
