/**
 * A real Prometheus (Debian's `prometheus` package, installed by scripts/setup-runtime.sh) for
 * the telemetry e2e tests: its own temp folder for config and TSDB, a free loopback port, a
 * 1-second scrape of the given targets, and small clients for the HTTP query API.
 *
 * Teardown is layered like the containerd harness: stop() kills it and removes the folder; an
 * 'exit' hook does the same synchronously if a test crashes; and a detached watchdog does it if
 * the test process is killed outright.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './registry.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export interface PrometheusOptions {
  /** `host:port` of each /metrics endpoint to scrape, e.g. '127.0.0.1:9464'. */
  targets: string[];
  /** Scrape (and rule evaluation) interval in seconds; default 1. */
  scrapeIntervalSeconds?: number;
  /** Path scraped on each target; default '/metrics'. */
  metricsPath?: string;
  /** Milliseconds to wait for /-/ready; default 30 s. */
  readyTimeoutMs?: number;
}

/** A sample as the HTTP API returns it: [unix seconds, value as text]. */
export type PromSample = [number, string];

export interface PromSeries {
  metric: Record<string, string>;
  /** Instant queries (vector). */
  value?: PromSample;
  /** Range queries (matrix). */
  values?: PromSample[];
}

export interface PromQueryResult {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  /** Series for vector/matrix; for scalar/string, the single [time, value] pair. */
  result: PromSeries[] | PromSample;
}

export interface PromTarget {
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface RunningPrometheus {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The instance's folder: prometheus.yml, data/, prometheus.log. */
  dir: string;
  /** `/api/v1/query`: evaluate `expr` at `timeSeconds` (default: now). */
  query(expr: string, timeSeconds?: number): Promise<PromQueryResult>;
  /** `/api/v1/query_range` over [start, end] (unix seconds) at `stepSeconds`. */
  queryRange(expr: string, range: { start: number; end: number; stepSeconds: number }): Promise<PromQueryResult>;
  /** `/api/v1/series`: the label sets of series matching `match` (what Grafana's label_values() reads). */
  series(match: string): Promise<Record<string, string>[]>;
  /** `/api/v1/targets`: the active scrape targets and their health. */
  targets(): Promise<PromTarget[]>;
  /** Polls `expr` until `accept` says yes; rejects with the last result after `timeoutMs`. */
  waitFor(expr: string, accept: (r: PromQueryResult) => boolean, timeoutMs?: number): Promise<PromQueryResult>;
  /** The last lines of Prometheus' own log, for failure messages. */
  logTail(lines?: number): string;
  /** Kills Prometheus and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

/** Skips the test (returns false) when Prometheus is not installed; says how to install it. */
export function prometheusOrSkip(t: TestContext): boolean {
  if (existsSync(PROMETHEUS_BIN)) return true;
  t.skip(`${PROMETHEUS_BIN} missing: run scripts/setup-runtime.sh as root (installs Debian's prometheus package)`);
  return false;
}


function configYaml(opts: PrometheusOptions): string {
  const every = `${opts.scrapeIntervalSeconds ?? 1}s`;
  // JSON is valid YAML: no quoting questions for target strings.
  return JSON.stringify(
    {
      global: { scrape_interval: every, scrape_timeout: every, evaluation_interval: every },
      scrape_configs: [
        { job_name: 'critap', metrics_path: opts.metricsPath ?? '/metrics', static_configs: [{ targets: opts.targets }] },
      ],
    },
    null,
    2,
  );
}

// ---- process-wide safety net ------------------------------------------------

interface Instance {
  child: ChildProcess;
  dir: string;
  watchdog?: ChildProcess;
}

const live = new Set<Instance>();
let exitHookInstalled = false;

function cleanupSync(inst: Instance): void {
  try {
    inst.child.kill('SIGKILL');
  } catch {
    // already gone
  }
  try {
    inst.watchdog?.kill('SIGKILL');
  } catch {
    // already gone
  }
  rmSync(inst.dir, { recursive: true, force: true });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const inst of live) cleanupSync(inst);
    live.clear();
  });
}

/**
 * Outlives a SIGKILLed test process: waits for this process to end, then kills that one
 * Prometheus (by pid) and removes its folder.
 */
function startWatchdog(prometheusPid: number, dir: string): ChildProcess {
  const child = spawn(
    'sh',
    ['-c', 'tail --pid="$1" -f /dev/null; kill -9 "$2" 2>/dev/null; rm -rf "$3"', 'critap-prometheus-watchdog',
      String(process.pid), String(prometheusPid), dir],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  return child;
}

// ---- HTTP API -----------------------------------------------------------------

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

async function api<T>(base: string, path: string, params: Record<string, string>): Promise<T> {
  // Queries go as POST with a form body (long dashboard expressions never hit URL length
  // limits); endpoints without parameters, such as /targets, only answer GET.
  const form = new URLSearchParams(params).toString();
  const res = form
    ? await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form })
    : await fetch(`${base}${path}`);
  const text = await res.text();
  let answer: ApiAnswer<T>;
  try {
    answer = JSON.parse(text) as ApiAnswer<T>;
  } catch {
    throw new Error(`prometheus: ${path} answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
  if (answer.status !== 'success' || answer.data === undefined) {
    const what = params.query ?? params['match[]'] ?? '';
    throw new Error(`prometheus: ${path} failed (${answer.errorType ?? `HTTP ${res.status}`}: ${answer.error ?? text}) for ${what}`);
  }
  return answer.data;
}

function hasData(r: PromQueryResult): boolean {
  return Array.isArray(r.result) && r.result.length > 0 && (r.resultType === 'scalar' || r.resultType === 'string' || typeof r.result[0] === 'object');
}

/** True when a vector/matrix result holds at least one series (the shape a dashboard panel draws). */
export function resultHasSeries(r: PromQueryResult): boolean {
  return (r.resultType === 'vector' || r.resultType === 'matrix') && hasData(r);
}

// ---- start --------------------------------------------------------------------

export async function startPrometheus(opts: PrometheusOptions): Promise<RunningPrometheus> {
  if (!existsSync(PROMETHEUS_BIN)) throw new Error(`prometheus: ${PROMETHEUS_BIN} missing; run scripts/setup-runtime.sh as root`);
  if (opts.targets.length === 0) throw new Error('prometheus: needs at least one scrape target');
  const dir = await mkdtemp(join(tmpdir(), 'critap-prom-'));
  const configFile = join(dir, 'prometheus.yml');
  const logFile = join(dir, 'prometheus.log');
  await writeFile(configFile, configYaml(opts));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  const fd = openSync(logFile, 'a');
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      // Nothing here is kept beyond the test.
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  const inst: Instance = { child, dir };
  installExitHook();
  live.add(inst);
  if (child.pid !== undefined) inst.watchdog = startWatchdog(child.pid, dir);

  let exitNote: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, sig) => {
      exitNote = `prometheus exited (${sig ?? `code ${code}`})`;
      resolve();
    });
    child.once('error', (err) => {
      exitNote = `prometheus did not start: ${err.message}`;
      resolve();
    });
  });

  const logTail = (lines = 20): string => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    live.delete(inst);
    if (exitNote === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    inst.watchdog?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };

  // Ready means the TSDB is open and the web API answers.
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exitNote !== undefined) {
      const note = `${exitNote}\n${logTail()}`;
      await stop();
      throw new Error(`prometheus: ${note}`);
    }
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      const note = logTail();
      await stop();
      throw new Error(`prometheus: not ready at ${url} within ${opts.readyTimeoutMs ?? 30_000} ms\n${note}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const prom: RunningPrometheus = {
    url,
    dir,
    query: (expr, timeSeconds) =>
      api<PromQueryResult>(url, '/api/v1/query', timeSeconds === undefined ? { query: expr } : { query: expr, time: String(timeSeconds) }),
    queryRange: (expr, r) =>
      api<PromQueryResult>(url, '/api/v1/query_range', {
        query: expr,
        start: String(r.start),
        end: String(r.end),
        step: String(r.stepSeconds),
      }),
    series: (match) => api<Record<string, string>[]>(url, '/api/v1/series', { 'match[]': match }),
    async targets() {
      const data = await api<{ activeTargets: PromTarget[] }>(url, '/api/v1/targets', {});
      return data.activeTargets.map((t) => ({ scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError }));
    },
    async waitFor(expr, accept, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const r = await prom.query(expr);
        if (accept(r)) return r;
        if (Date.now() > until) throw new Error(`prometheus: ${expr} still gave ${JSON.stringify(r.result).slice(0, 300)} after ${timeoutMs} ms`);
        await new Promise((res) => setTimeout(res, 250));
      }
    },
    logTail,
    stop,
  };
  return prom;
}
