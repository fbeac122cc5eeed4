/**
 * Reads the queries out of a Grafana dashboard JSON (dashboards/critap-cri.json),
 * so tests can check every Prometheus expression against critap's metric names
 * and, in the e2e suite, run them against a real Prometheus.
 */

export interface DashboardQuery {
  panel: string;
  refId: string;
  /** 'prometheus' for PromQL, 'tempo' for TraceQL, 'variable' for a template variable's label_values(). */
  kind: 'prometheus' | 'tempo' | 'variable';
  /** The text as stored in the dashboard, Grafana variables included. */
  text: string;
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function datasourceType(v: unknown): string | undefined {
  const d = obj(v);
  return typeof d?.type === 'string' ? d.type : undefined;
}

function panelsOf(dashboard: Json): Json[] {
  const out: Json[] = [];
  const walk = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const p of list) {
      const panel = obj(p);
      if (!panel) continue;
      out.push(panel);
      walk(panel.panels); // collapsed rows keep their panels inside
    }
  };
  walk(dashboard.panels);
  return out;
}

export function dashboardQueries(dashboard: unknown): DashboardQuery[] {
  const d = obj(dashboard);
  if (!d) throw new Error('critap: a Grafana dashboard must be a JSON object');
  const out: DashboardQuery[] = [];
  for (const panel of panelsOf(d)) {
    const title = typeof panel.title === 'string' ? panel.title : `panel ${String(panel.id)}`;
    for (const t of Array.isArray(panel.targets) ? panel.targets : []) {
      const target = obj(t);
      if (!target) continue;
      const type = datasourceType(target.datasource) ?? datasourceType(panel.datasource);
      const refId = typeof target.refId === 'string' ? target.refId : '?';
      if (type === 'prometheus' && typeof target.expr === 'string') {
        out.push({ panel: title, refId, kind: 'prometheus', text: target.expr });
      } else if (type === 'tempo' && typeof target.query === 'string') {
        out.push({ panel: title, refId, kind: 'tempo', text: target.query });
      }
    }
  }
  const templating = obj(d.templating);
  for (const v of Array.isArray(templating?.list) ? templating.list : []) {
    const variable = obj(v);
    if (variable?.type !== 'query' || datasourceType(variable.datasource) !== 'prometheus') continue;
    const q = obj(variable.query)?.query ?? variable.query;
    if (typeof q === 'string') out.push({ panel: `variable $${String(variable.name)}`, refId: 'var', kind: 'variable', text: q });
  }
  return out;
}

/** Values for Grafana's variables that make a dashboard expression plain PromQL. */
export const DEFAULT_VARIABLE_VALUES: Readonly<Record<string, string>> = {
  __rate_interval: '5m',
  __interval: '1m',
  __range: '1h',
  instance: '.*',
  service: '.*',
  method: '.*',
};

/**
 * Substitutes `$name`, `${name}` and `[[name]]` with `values`; throws for a variable it has
 * no value for, so an unexpected one cannot reach Prometheus as a syntax error.
 */
export function resolveVariables(text: string, values: Readonly<Record<string, string>> = DEFAULT_VARIABLE_VALUES): string {
  return text.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (_m, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const v = values[name];
    if (v === undefined) throw new Error(`critap: dashboard query uses $${name}, which has no value to test with`);
    return v;
  });
}

/** `label_values(selector, label)` → the series selector inside, itself valid PromQL. */
export function labelValuesSelector(text: string): string | undefined {
  const m = /^\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*$/.exec(text);
  return m?.[1];
}
