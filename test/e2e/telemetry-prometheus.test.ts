/**
 * Every Prometheus query of dashboards/critap-cri.json, evaluated by a real Prometheus that
 * scrapes a real `critap proxy` (the CLI, as a user starts it) in front of the real containerd
 * while the seed walkthrough runs through it. A query that names a wrong metric or label, or
 * does not parse, returns nothing or an error here.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { dashboardQueries, labelValuesSelector, resolveVariables } from '../../src/telemetry/index.js';
import { makeCriClient, type CriClient } from '../support/cri-client.js';
import { tempSocketPath } from '../support/fake-upstream.js';
import { repoRoot } from '../support/paths.js';
import { prometheusOrSkip, resultHasSeries, startPrometheus, type PromQueryResult, type PromSeries } from '../support/prometheus.js';
import { realRuntimeOrSkip } from '../support/runtime.js';
import { seedWalkthrough } from '../support/walkthrough.js';

const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));
const WALKTHROUGH_RUNS = 3;

interface ProxyChild {
  endpoint: string;
  /** `127.0.0.1:PORT`, the scrape target. */
  metricsTarget: string;
  stop(): Promise<number | null>;
}

/** `critap proxy --metrics-listen 127.0.0.1:0 --log-json`; the metrics address comes from its start log line. */
async function startProxyChild(upstream: string): Promise<ProxyChild> {
  const listen = tempSocketPath('critap-prom');
  const child: ChildProcess = spawn(
    process.execPath,
    // --no-peer-lookup: each call then reaches the metrics as it ends. With the lookup, a connection's
    // finished calls wait for it (up to 3 s), and a method's counter can go from absent to its final
    // value between two scrapes, which rate() over the test cannot draw (seen flaking in CI).
    [BIN, 'proxy', '--listen', listen, '--upstream', upstream, '--metrics-listen', '127.0.0.1:0', '--log-json', '--grace', '1s', '--no-peer-lookup'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const log: string[] = [];
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`critap proxy did not log its start within 15 s:\n${log.join('\n')}`)), 15_000);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log.push(line);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === 'critap proxy started') {
          clearTimeout(timer);
          resolve(entry);
        }
      } catch {
        // not a JSON log line; kept in `log` for the failure message
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`critap proxy exited (${code}) before starting:\n${log.join('\n')}`));
    });
  });
  const metricsUrl = new URL(String(started.metrics));
  assert.equal(metricsUrl.pathname, '/metrics');
  return {
    endpoint: String(started.listen),
    metricsTarget: metricsUrl.host,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Grafana's multi-value regex format: `(a|b)` with each value's regex characters escaped. */
function grafanaRegex(values: string[]): string {
  const escaped = values.map((v) => v.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\\\${c}`));
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

/** At least one series with at least one number that is not NaN: a panel would draw something. */
function drawsSomething(r: PromQueryResult): boolean {
  if (!resultHasSeries(r)) return false;
  const samples = (r.result as PromSeries[]).flatMap((s) => (s.values ?? (s.value ? [s.value] : [])));
  return samples.some(([, v]) => !Number.isNaN(Number(v)));
}

/** Calls that fail in containerd, so the error panels have something to show. */
async function failingCalls(cri: CriClient): Promise<void> {
  for (const id of ['critap-no-such-container-1', 'critap-no-such-container-2']) {
    await assert.rejects(cri.runtime('ContainerStatus', { container_id: id }), /NOT_FOUND/);
  }
}

test('every Prometheus query of the dashboard returns data from a real Prometheus scraping critap', { timeout: 240_000 }, async (t) => {
  if (!prometheusOrSkip(t)) return;
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;

  const proxy = await startProxyChild(rt.endpoint);
  t.after(() => proxy.stop());
  const prom = await startPrometheus({ targets: [proxy.metricsTarget], scrapeIntervalSeconds: 1 });
  t.after(() => prom.stop());
  const cri = makeCriClient(proxy.endpoint);
  t.after(() => cri.close());

  // First scrape before any call: every counter then has a sample at its start, so rate()
  // and increase() see the whole walkthrough.
  await prom.waitFor('up{job="critap"}', (r) => drawsSomething(r) && (r.result as PromSeries[])[0]!.value![1] === '1');
  const started = Date.now() / 1000;

  await failingCalls(cri);
  for (let i = 0; i < WALKTHROUGH_RUNS; i++) {
    await seedWalkthrough(cri, { image: rt.registry.image, logDir: rt.dir, podName: `critap-prom-${i}` });
    // A scrape between runs: every method's counter then has several samples that differ, so
    // rate() draws it even when the machine is slow (runs landing between two scrapes drew nothing).
    await prom.waitFor(
      'sum(critap_rpc_duration_seconds_count{rpc_method="RemoveImage"})',
      (r) => resultHasSeries(r) && Number((r.result as PromSeries[])[0]!.value![1]) >= i + 1,
    );
  }
  await failingCalls(cri);
  // Prometheus has scraped everything once RemoveImage of the last run shows up.
  await prom.waitFor(
    'sum(critap_rpc_duration_seconds_count{rpc_method="RemoveImage"})',
    (r) => resultHasSeries(r) && Number((r.result as PromSeries[])[0]!.value![1]) >= WALKTHROUGH_RUNS,
  );
  await prom.waitFor('sum(critap_rpc_duration_seconds_count{grpc_code="NOT_FOUND"})', (r) => resultHasSeries(r) && Number((r.result as PromSeries[])[0]!.value![1]) >= 4);
  const now = Date.now() / 1000;

  const dashboard = JSON.parse(readFileSync(`${repoRoot()}/dashboards/critap-cri.json`, 'utf8')) as unknown;
  const queries = dashboardQueries(dashboard);
  const promQueries = queries.filter((q) => q.kind === 'prometheus');
  assert.ok(promQueries.length >= 10, `the dashboard has its panels (${promQueries.length} PromQL targets)`);

  // The variables first, in dashboard order (each may use the ones before it), as Grafana fills
  // them: label_values(selector, label) reads the label off the selector's series.
  const window = `${Math.ceil(now - started) + 15}s`; // covers the whole run: rate() has every sample
  const values: Record<string, string> = { __rate_interval: window, __interval: '1s', __range: window };
  const chosen: Record<string, string[]> = {};
  for (const v of queries.filter((q) => q.kind === 'variable')) {
    const name = v.panel.replace(/^variable \$/, '');
    const m = /,\s*(\w+)\s*\)\s*$/.exec(v.text);
    const selector = labelValuesSelector(v.text);
    assert.ok(selector && m, `variable $${name}: label_values(selector, label) expected, got ${v.text}`);
    const series = await prom.series(resolveVariables(selector, values));
    const found = [...new Set(series.map((s) => s[m[1]!]).filter((x): x is string => x !== undefined))].sort();
    assert.ok(found.length > 0, `variable $${name} (${v.text}) offers no values`);
    chosen[name] = found;
    values[name] = grafanaRegex(found);
  }
  assert.deepEqual(chosen.instance, [proxy.metricsTarget]);
  assert.deepEqual(chosen.service, ['runtime.v1.ImageService', 'runtime.v1.RuntimeService']);
  for (const m of ['RunPodSandbox', 'StartContainer', 'PullImage', 'ExecSync', 'ContainerStatus']) {
    assert.ok(chosen.method!.includes(m), `$method offers ${m}`);
  }

  const empty: string[] = [];
  for (const q of promQueries) {
    const expr = resolveVariables(q.text, values);
    const label = `${q.panel} / ${q.refId}: ${expr}`;
    // As a panel draws it (a range over the test) and as a table/stat reads it (now).
    const range = await prom.queryRange(expr, { start: Math.floor(started), end: Math.ceil(now), stepSeconds: 1 });
    const instant = await prom.query(expr, now);
    if (!drawsSomething(range) || !drawsSomething(instant)) empty.push(label);
  }
  if (empty.length > 0) assert.fail(`dashboard queries without data:\n${empty.join('\n')}\n--- prometheus log ---\n${prom.logTail()}`);

  // The numbers are critap's: the walkthrough's calls, counted once each.
  const runs = await prom.query('sum by (rpc_method) (critap_rpc_duration_seconds_count{grpc_code="OK"})', now);
  const count = (method: string) => Number((runs.result as PromSeries[]).find((s) => s.metric.rpc_method === method)?.value?.[1]);
  assert.equal(count('RunPodSandbox'), WALKTHROUGH_RUNS);
  assert.equal(count('StartContainer'), WALKTHROUGH_RUNS);

  cri.close();
  assert.equal(await proxy.stop(), 0, 'critap proxy stops cleanly on SIGTERM');
});
