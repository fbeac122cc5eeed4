// With tracing on and no metrics reader (no --metrics-listen, no --otlp-metrics), nothing could
// ever read a metric: the observer thread must not run a MeterProvider for every call, nor load the
// metrics exporters. Asked for, each reader loads its exporter only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TELEMETRY = new URL('../../src/telemetry/telemetry.js', import.meta.url).href;
const RECORD_LOADS = fileURLToPath(new URL('../support/record-loads.js', import.meta.url));

/** Creates live telemetry with `opts` in a fresh process, counts one call, closes; the packages it loaded. */
async function packagesLoadedByTelemetry(t: { after(fn: () => Promise<void>): void }, opts: object): Promise<{ packages: Set<string>; out: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'critap-metrics-off-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'loads.json');
  const script = `
    const { createTelemetry } = await import(${JSON.stringify(TELEMETRY)});
    const t = await createTelemetry({ upstream: 'unix:///run/nothing.sock', closeTimeoutMs: 200, ...${JSON.stringify(opts)} });
    t.onCallStart({ method: '/runtime.v1.RuntimeService/Version', startNs: 0n, requestMetadata: [] });
    console.log(JSON.stringify({ tracing: t.tracing, metricsUrl: t.metricsUrl ?? null }));
    await t.close();`;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', RECORD_LOADS, '--input-type=module', '-e', script], { env: { ...process.env, CRITAP_LOADS_FILE: file }, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
  const packages = new Set<string>();
  for (const url of JSON.parse(await readFile(file, 'utf8')) as string[]) {
    const at = url.lastIndexOf('/node_modules/');
    const m = at < 0 ? null : /^((?:@[^/]+\/)?[^/]+)/.exec(url.slice(at + '/node_modules/'.length));
    if (m) packages.add(m[1]!);
  }
  return { packages, out };
}

test('tracing without a metrics reader loads no metrics exporter and serves no metrics', async (t) => {
  const { packages, out } = await packagesLoadedByTelemetry(t, { tracing: true, otlpEndpoint: 'http://127.0.0.1:9' });
  assert.deepEqual(JSON.parse(out), { tracing: true, metricsUrl: null });
  assert.ok(packages.has('@opentelemetry/otlp-grpc-exporter-base'), 'the span transport is loaded: the recorder of loads works');
  // Live spans are encoded by critap (otlp-span-encoder.ts): the SDK's trace exporter and serializer stay unloaded.
  assert.ok(!packages.has('@opentelemetry/exporter-trace-otlp-grpc'), 'no SDK trace exporter');
  assert.ok(!packages.has('@opentelemetry/otlp-transformer'), 'no SDK serializer');
  assert.ok(!packages.has('@opentelemetry/sdk-trace-base'), 'no tracing SDK: the samplers are critap\'s own');
  assert.ok(!packages.has('@opentelemetry/exporter-prometheus'), 'no Prometheus exporter');
  assert.ok(!packages.has('@opentelemetry/exporter-metrics-otlp-grpc'), 'no OTLP metrics exporter');
});

test('--metrics-listen loads the Prometheus exporter, and not the OTLP metrics one', async (t) => {
  const { packages, out } = await packagesLoadedByTelemetry(t, { tracing: false, metricsListen: '127.0.0.1:0' });
  const { metricsUrl } = JSON.parse(out) as { metricsUrl: string | null };
  assert.match(metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  assert.ok(packages.has('@opentelemetry/sdk-metrics'));
  assert.ok(packages.has('@opentelemetry/exporter-prometheus'));
  assert.ok(!packages.has('@opentelemetry/exporter-metrics-otlp-grpc'));
});
