/**
 * The Tempo (TraceQL) panels of dashboards/critap-cri.json, run without Tempo: a pod start and
 * a few other calls go through a real proxy with tracing on; each dashboard query, with its
 * variables at the dashboard's own defaults, is evaluated (test/support/traceql.ts) on the spans
 * the OTLP test collector received. A query naming an attribute critap does not emit, or a
 * filter nothing of critap's can pass, fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { startObservedProxy } from '../../src/proxy/observed-proxy.js';
import { dashboardQueries, resolveVariables } from '../../src/telemetry/dashboard-queries.js';
import { ATTR } from '../../src/telemetry/names.js';
import { rawClient, startFakeUpstream, tempSocketPath, unaryCall, type UnaryHandler } from '../support/fake-upstream.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';
import { RUNTIME, makeCall, podStartCalls } from '../support/telemetry-calls.js';
import { matchesFilter, parseTraceQl, queryRefs, refValue, type TraceQlQuery } from '../support/traceql.js';

// dist/test/integration/ → the package root
const dashboard = JSON.parse(readFileSync(new URL('../../../dashboards/critap-cri.json', import.meta.url), 'utf8'));
const tempoQueries = dashboardQueries(dashboard).filter((q) => q.kind === 'tempo');

/** The dashboard's variables at their saved values (`tempo_service` = critap, `min_duration` = 100ms). */
const variables: Record<string, string> = {};
for (const v of dashboard.templating.list as { name: string; current?: { value?: unknown } }[]) {
  if (typeof v.current?.value === 'string') variables[v.name] = v.current.value;
}

/** `100ms` → 100. */
function durationMs(text: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text ?? '');
  assert.ok(m, `min_duration "${text}" is not a duration this test can read`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

// node --test runs each file in its own process; the observer thread copies process.env at start.
for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
process.env.OTEL_SERVICE_NAME = variables.tempo_service ?? 'critap';

const SANDBOX = 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0a1b2';
const CONTAINER = 'f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1';

test('every TraceQL panel of the dashboard matches spans critap really sends, and names only attributes they carry', async (t) => {
  assert.ok(tempoQueries.length >= 3, `${tempoQueries.length} TraceQL queries`);
  // The kubelet's pod start (real CRI bodies), CreateContainer slower than the "slow span" threshold.
  const slowMs = durationMs(variables.min_duration) + 50;
  const [run, create, start] = podStartCalls(SANDBOX, CONTAINER);
  const version = makeCall({ method: `${RUNTIME}/Version`, request: { version: '0.1.0' }, response: { version: '0.1.0' } });
  const answer = (data: Buffer | undefined): UnaryHandler => (_call, cb) => cb(null, data ?? Buffer.alloc(0));
  const unary: Record<string, UnaryHandler> = {
    [run!.method]: answer(run!.responses[0]?.data),
    [create!.method]: (call, cb) => void setTimeout(() => answer(create!.responses[0]?.data)(call, cb), slowMs),
    [start!.method]: answer(start!.responses[0]?.data),
    [version.method]: answer(version.responses[0]?.data),
    [`${RUNTIME}/ContainerStatus`]: (_call, cb) => cb({ code: grpc.status.NOT_FOUND, details: 'container "gone" not found' }),
  };
  const upstream = await startFakeUpstream({ unary });
  const receiver = await startOtlpReceiver();
  const proxy = await startObservedProxy({ listen: tempSocketPath('critap-traceql'), upstream: upstream.endpoint, otlpEndpoint: receiver.url, logLevel: 'warn' });
  const client = rawClient(proxy.endpoint);
  t.after(async () => {
    client.close();
    await proxy.close(500);
    await upstream.close();
    await receiver.close();
  });
  for (const c of [run!, create!, start!, version]) {
    const r = await unaryCall(client, c.method, c.requests[0]!.data);
    assert.equal(r.error, undefined, `${c.method}: ${r.error?.message}`);
  }
  const gone = makeCall({ method: `${RUNTIME}/ContainerStatus`, request: { containerId: 'gone' } });
  assert.equal((await unaryCall(client, gone.method, gone.requests[0]!.data)).error?.code, grpc.status.NOT_FOUND);
  client.close();
  await proxy.close(500); // flushes the spans
  const spans = await receiver.waitForSpans(5);
  assert.equal(spans.length, 5);

  const emittedResource = new Set(spans.flatMap((s) => Object.keys(s.resource)));
  const knownSpanAttrs = new Set<string>(Object.values(ATTR));
  for (const { panel, text } of tempoQueries) {
    const resolved = resolveVariables(text, variables);
    const query = parseTraceQl(resolved);
    for (const r of queryRefs(query)) {
      if (r.scope === 'span' || r.scope === 'any') assert.ok(knownSpanAttrs.has(r.name) || emittedResource.has(r.name), `${panel}: ${r.text} is not an attribute critap sets (names.ts ATTR)`);
      if (r.scope === 'resource') assert.ok(emittedResource.has(r.name), `${panel}: ${r.text} is not on critap's resource (${[...emittedResource].join(', ')})`);
    }

    const hits = spans.filter((s) => matchesFilter(query, s));
    assert.ok(hits.length > 0, `${panel}: none of critap's spans passes ${resolved}`);
    assert.ok(hits.length < spans.length, `${panel}: every span passes ${resolved}; the filter selects nothing`);
    for (const r of queryRefs(query)) {
      assert.ok(hits.some((s) => refValue(s, r) !== undefined), `${panel}: ${r.text} is on none of the spans the query matches`);
    }
    for (const r of query.metrics?.by ?? []) {
      assert.ok(hits.every((s) => refValue(s, r) !== undefined), `${panel}: by (${r.text}) is missing on some matching span`);
    }

    // The check has teeth: with any one filter attribute misspelt, nothing matches any more.
    query.filter.forEach((group, g) =>
      group.forEach((c, i) => {
        if (c.ref.scope === 'intrinsic' || (c.value.kind === 'nil' && c.op === '=')) return;
        const typo: TraceQlQuery = structuredClone(query);
        const misspelt = typo.filter[g]![i]!.ref;
        if (misspelt.scope !== 'intrinsic') misspelt.name += '_x';
        assert.equal(spans.filter((s) => matchesFilter(typo, s)).length, 0, `${panel}: ${c.ref.text}_x still matches`);
      }),
    );
  }
});
