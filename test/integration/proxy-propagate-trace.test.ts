/**
 * --propagate-trace: the runtime gets critap's span as the parent of its own, the span critap
 * exports has exactly those ids, everything else the client sent arrives unchanged, and the
 * recording keeps what the client sent (plus the traceparent critap sent instead).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startObservedProxy } from '../../src/proxy/observed-proxy.js';
import { openRecording } from '../../src/record/reader.js';
import { exportRecordingOtlp } from '../../src/telemetry/export-recording.js';
import { rawClient, startFakeUpstream, tempSocketPath, unaryCall } from '../support/fake-upstream.js';
import { startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { startCliProxy } from '../support/cli-proxy.js';

const VERSION = '/runtime.v1.RuntimeService/Version';
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const TP = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

interface Seen {
  n: string;
  traceparent?: string;
  tracestate?: string;
  custom?: string;
  bin?: Buffer;
  huge?: number;
}

async function recordingUpstream() {
  const seen: Seen[] = [];
  const upstream = await startFakeUpstream({
    unary: {
      [VERSION]: (call, cb) => {
        const md = call.metadata;
        const s: Seen = { n: String(md.get('x-n')[0] ?? '') };
        const tp = md.get('traceparent');
        assert.ok(tp.length <= 1, 'one traceparent reaches the runtime');
        if (tp[0] !== undefined) s.traceparent = String(tp[0]);
        if (md.get('tracestate')[0] !== undefined) s.tracestate = String(md.get('tracestate')[0]);
        if (md.get('x-custom')[0] !== undefined) s.custom = String(md.get('x-custom')[0]);
        if (md.get('x-blob-bin')[0] !== undefined) s.bin = md.get('x-blob-bin')[0] as Buffer;
        if (md.get('x-huge')[0] !== undefined) s.huge = String(md.get('x-huge')[0]).length;
        seen.push(s);
        cb(null, Buffer.from([0x0a, 0x02, 0x30, 0x2e]));
      },
    },
  });
  return { seen, upstream };
}

function metadata(n: number, extra: Record<string, string | Buffer> = {}): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('x-n', String(n));
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return md;
}

const clientSpan = (n: number) => (n + 1).toString(16).padStart(16, 'a');

test('the runtime sees critap\'s span as parent; critap\'s span has those ids; the rest arrives unchanged', async (t) => {
  const receiver = await startOtlpReceiver();
  const { seen, upstream } = await recordingUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'critap-propagate-'));
  const rec = join(dir, 'rec');
  t.after(async () => {
    await upstream.close();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const proxy = await startObservedProxy({
    listen: `unix://${tempSocketPath('critap')}`,
    upstream: upstream.endpoint,
    otlpEndpoint: receiver.url,
    record: rec,
    propagateTrace: true,
  });
  const client = rawClient(proxy.endpoint);
  const blob = Buffer.from([0, 1, 2, 0xfe, 0xff]);
  const calls: Array<Promise<unknown>> = [];
  // 0–19 sampled kubelet parents, one at a time (the client's HPACK table fills and evicts).
  for (let n = 0; n < 20; n++) {
    const md = metadata(n, { traceparent: `00-${CLIENT_TRACE}-${clientSpan(n)}-01`, tracestate: 'k8s=1', 'x-custom': `v${n}`, 'x-blob-bin': blob });
    const r = await unaryCall(client, VERSION, Buffer.alloc(0), md);
    assert.equal(r.status?.code, 0);
  }
  // 20–24 no parent; 25–27 a parent that is not sampled; 28 a 30 KB header (CONTINUATION frames).
  for (let n = 20; n < 25; n++) calls.push(unaryCall(client, VERSION, Buffer.alloc(0), metadata(n)));
  for (let n = 25; n < 28; n++) calls.push(unaryCall(client, VERSION, Buffer.alloc(0), metadata(n, { traceparent: `00-${CLIENT_TRACE}-${clientSpan(n)}-00` })));
  calls.push(unaryCall(client, VERSION, Buffer.alloc(0), metadata(28, { 'x-huge': 'x'.repeat(30_000) })));
  // 29–78 at once.
  for (let n = 29; n < 79; n++) calls.push(unaryCall(client, VERSION, Buffer.alloc(0), metadata(n, { traceparent: `00-${CLIENT_TRACE}-${clientSpan(n)}-01` })));
  const results = (await Promise.all(calls)) as Array<{ status?: grpc.StatusObject }>;
  for (const r of results) assert.equal(r.status?.code, 0);
  client.close();
  await proxy.close();

  assert.equal(seen.length, 79);
  const byN = new Map(seen.map((s) => [Number(s.n), s]));
  const sampledCount = 20 + 5 + 1 + 50;
  const spans = await receiver.waitForSpans(sampledCount);
  assert.equal(spans.length, sampledCount, 'unsampled parents give no span');
  const spanById = new Map<string, ReceivedSpan>(spans.map((s) => [s.spanId, s]));

  for (const [n, s] of byN) {
    const m = TP.exec(s.traceparent ?? '');
    assert.ok(m, `call ${n}: the runtime got a traceparent (${s.traceparent})`);
    const [, traceId, spanId, flags] = m;
    const withParent = n < 20 || n >= 25;
    if (withParent && n !== 28) {
      assert.equal(traceId, CLIENT_TRACE, `call ${n} stays in the kubelet's trace`);
      assert.notEqual(spanId, clientSpan(n), `call ${n}: the runtime's parent is critap's span, not the kubelet's`);
    }
    if (n >= 25 && n < 28) {
      assert.equal(flags, '00', `call ${n}: an unsampled parent stays unsampled`);
      assert.equal(spanById.has(spanId!), false);
      continue;
    }
    assert.equal(flags, '01');
    const span = spanById.get(spanId!);
    assert.ok(span, `call ${n}: critap exported the span the runtime was told about`);
    assert.equal(span.traceId, traceId);
    assert.equal(span.name, 'runtime.v1.RuntimeService/Version');
    if (n < 20 || n >= 29) assert.equal(span.parentSpanId, clientSpan(n), `call ${n}: critap's span is the kubelet span's child`);
    else assert.equal(span.parentSpanId, '', `call ${n}: no parent, a new trace`);
    if (n < 20) {
      assert.equal(s.tracestate, 'k8s=1');
      assert.equal(s.custom, `v${n}`);
      assert.deepEqual(s.bin, blob);
    }
  }
  assert.equal(byN.get(28)!.huge, 30_000);

  // The recording keeps the client's own traceparent and the one critap sent instead.
  const reader = await openRecording(rec);
  let recorded = 0;
  for await (const call of reader.calls()) {
    const n = Number(call.requestMetadata.find((h) => h[0] === 'x-n')?.[1]);
    assert.equal(call.propagatedTraceparent, byN.get(n)!.traceparent, `call ${n}`);
    const own = call.requestMetadata.find((h) => h[0] === 'traceparent')?.[1];
    if (n < 20) assert.equal(own, `00-${CLIENT_TRACE}-${clientSpan(n)}-01`);
    recorded++;
  }
  assert.equal(recorded, 79);

  // Exported later, a recorded call's span keeps the ids the runtime saw.
  const later = await startOtlpReceiver();
  t.after(() => later.close());
  const { spans: sent } = await exportRecordingOtlp(reader, { endpoint: later.url });
  await reader.close();
  assert.equal(sent, 79);
  const exported = new Set((await later.waitForSpans(79)).map((s) => `${s.traceId}/${s.spanId}`));
  for (const s of byN.values()) {
    const [, traceId, spanId] = TP.exec(s.traceparent!)!;
    assert.ok(exported.has(`${traceId}/${spanId}`));
  }
});

test('--propagate-trace needs tracing, and is off by default (the client\'s traceparent passes unchanged)', async (t) => {
  const { seen, upstream } = await recordingUpstream();
  t.after(() => upstream.close());
  const saved = { a: process.env['OTEL_EXPORTER_OTLP_ENDPOINT'], b: process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] };
  delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  delete process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
  t.after(() => {
    if (saved.a !== undefined) process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = saved.a;
    if (saved.b !== undefined) process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] = saved.b;
  });
  await assert.rejects(
    startObservedProxy({ listen: `unix://${tempSocketPath('critap')}`, upstream: upstream.endpoint, propagateTrace: true }),
    /--propagate-trace needs tracing on/,
  );

  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const proxy = await startObservedProxy({ listen: `unix://${tempSocketPath('critap')}`, upstream: upstream.endpoint, otlpEndpoint: receiver.url });
  const client = rawClient(proxy.endpoint);
  const parent = `00-${CLIENT_TRACE}-${clientSpan(1)}-01`;
  assert.equal((await unaryCall(client, VERSION, Buffer.alloc(0), metadata(1, { traceparent: parent }))).status?.code, 0);
  client.close();
  await proxy.close();
  assert.equal(seen[0]!.traceparent, parent);
  const [span] = await receiver.waitForSpans(1);
  assert.equal(span!.parentSpanId, clientSpan(1), 'critap\'s span and the runtime\'s are siblings under the kubelet\'s');
});

test('the CLI flag and CRITAP_PROPAGATE_TRACE turn it on', async (t) => {
  const { seen, upstream } = await recordingUpstream();
  const receiver = await startOtlpReceiver();
  t.after(async () => {
    await upstream.close();
    await receiver.close();
  });
  for (const [args, env] of [
    [['--propagate-trace'], {}],
    [[], { CRITAP_PROPAGATE_TRACE: 'true' }],
  ] as const) {
    seen.length = 0;
    const cli = await startCliProxy(
      ['--listen', `unix://${tempSocketPath('critap')}`, '--upstream', upstream.endpoint, '--otlp-endpoint', receiver.url, ...args],
      { ...process.env, ...env },
    );
    assert.equal(cli.started['propagateTrace'], true);
    const client = rawClient(cli.endpoint);
    const parent = `00-${CLIENT_TRACE}-${clientSpan(2)}-01`;
    assert.equal((await unaryCall(client, VERSION, Buffer.alloc(0), metadata(2, { traceparent: parent }))).status?.code, 0);
    client.close();
    assert.equal(await cli.stop(), 0);
    const m = TP.exec(seen[0]!.traceparent ?? '');
    assert.ok(m && m[1] === CLIENT_TRACE && m[2] !== clientSpan(2), seen[0]!.traceparent);
    await receiver.waitFor('the span the runtime was told about', () => receiver.spans.find((s) => s.spanId === m[2]));
  }
  const noTracing = startCliProxy(['--listen', `unix://${tempSocketPath('critap')}`, '--upstream', upstream.endpoint, '--propagate-trace'], {
    ...process.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: '',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
  });
  await assert.rejects(noTracing, /--propagate-trace needs tracing on/);
});
