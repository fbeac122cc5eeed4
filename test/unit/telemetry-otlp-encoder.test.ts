/**
 * critap's own OTLP encoding of live spans against the SDK's: for a varied set of fixed calls,
 * the bytes critap sends decode to exactly what the SDK path (the same span as a ReadableSpan,
 * through @opentelemetry/otlp-transformer's ProtobufTraceSerializer, which OTLPTraceExporter
 * used) produced: every field, including the zeros the SDK writes and the span flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SamplingDecision, type Attributes, type Context } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, ParentBasedSampler, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';
import type { CallRecord } from '../../src/call.js';
import { upstreamAttributes } from '../../src/telemetry/call-attributes.js';
import { callSpanFacts, spanFromFacts, type CallSpanFacts, type SpanSource } from '../../src/telemetry/call-span.js';
import { decodeExportResponse, encodeExportRequest, encodeSpan, requestFrame } from '../../src/telemetry/otlp-span-encoder.js';
import { SpanBatch } from '../../src/telemetry/span-batch.js';
import type { PodIds } from '../../src/telemetry/pod-links.js';
import { ProtoWriter } from '../../src/telemetry/proto-writer.js';
import { VERSION } from '../../src/version.js';
import { decodeOtlp } from '../support/otlp-codec.js';
import { RUNTIME, makeCall } from '../support/telemetry-calls.js';

const REQUEST = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';
const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const source = (over: Partial<SpanSource> = {}): SpanSource => ({
  resource: resourceFromAttributes({ 'service.name': 'critap-test', 'host.name': 'node-1', 'k8s.node.name': 'nöde-ü' }),
  scope: { name: 'critap', version: VERSION },
  sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
  eventLimit: 4,
  ...over,
});

/** A sampler that adds attributes of every kind and its own trace state, as a custom one may. */
class DecoratingSampler implements Sampler {
  shouldSample(_c: Context, _t: string, _n: string, _k: unknown, _a: Attributes): SamplingResult {
    return {
      decision: SamplingDecision.RECORD_AND_SAMPLED,
      attributes: { 'test.double': 1.5, 'test.negative': -7, 'test.big': 2 ** 40, 'test.flag': false, 'test.list': ['a', 'ü'], 'test.mixed': [1, 2.5, null] },
      traceState: new TraceState('vendor=x,k8s=2'),
    };
  }
  toString(): string {
    return 'DecoratingSampler';
  }
}

interface Case {
  name: string;
  call: CallRecord;
  ids?: PodIds;
  serverStreaming?: boolean;
  source?: SpanSource;
}

function cases(): Case[] {
  const stream = makeCall({
    method: `${RUNTIME}/GetContainerEvents`,
    request: {},
    response: Array.from({ length: 9 }, (_, i) => ({ containerId: `c${i}` })),
    offsetsNs: Array.from({ length: 9 }, (_, i) => 1000 * (i + 1) + 0.4),
    startNs: 1_760_000_002_000_000_000n,
  });
  stream.responses[7]!.compressed = true;
  const faulted = makeCall({
    method: `${RUNTIME}/StartContainer`,
    request: { containerId: 'c1' },
    status: { code: 14, message: '' },
    metadata: [['traceparent', PARENT]],
  });
  faulted.fault = { ruleId: 3, rule: 'method=StartContainer error=UNAVAILABLE', actions: ['error', 'delay'] };
  faulted.truncated = true;
  const propagated = makeCall({ method: `${RUNTIME}/Version`, request: {}, response: { version: '0.1.0' } });
  propagated.propagatedTraceparent = '00-0af7651916cd43dd8448eb211c80319c-1111111111111111-01';
  const propagatedUnderParent = makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {}, metadata: [['traceparent', PARENT], ['tracestate', 'k8s=1']] });
  propagatedUnderParent.propagatedTraceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-2222222222222222-01';
  return [
    { name: 'unary, no parent', call: makeCall({ method: `${RUNTIME}/Version`, request: { version: 'v1' }, response: { version: '0.1.0' } }) },
    {
      name: 'unary under the kubelet\'s traceparent and tracestate, long duration',
      call: makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {}, durationNs: 2_500_000_001, metadata: [['traceparent', PARENT], ['tracestate', 'k8s=1,a=b']] }),
    },
    {
      name: 'error with pod ids and a long, non-ASCII status message',
      call: makeCall({
        method: `${RUNTIME}/RunPodSandbox`,
        request: {},
        status: { code: 2, message: `failed to create sandbox «web-0»: ${'x'.repeat(300)}` },
      }),
      ids: { podName: 'web-0', podNamespace: 'shop', podUid: 'u1', podSandboxId: 's1', containerId: 'c1', containerName: 'nginx', image: 'nginx:1' },
    },
    { name: 'error without a message (status name)', call: makeCall({ method: `${RUNTIME}/StopPodSandbox`, request: {}, status: { code: 5, message: '' } }) },
    { name: 'server stream with more messages than the event limit, one compressed', call: stream, serverStreaming: true },
    { name: 'server stream within the event limit', call: makeCall({ method: `${RUNTIME}/GetContainerEvents`, request: {}, response: [{ containerId: 'a' }] }), serverStreaming: true },
    { name: 'fault injected', call: faulted },
    { name: 'sent on with critap\'s traceparent (--propagate-trace), no parent', call: propagated },
    { name: 'sent on with critap\'s traceparent under the kubelet\'s', call: propagatedUnderParent },
    { name: 'a sampler adding attributes of every kind and a trace state', call: makeCall({ method: `${RUNTIME}/Status`, request: {}, response: {} }), source: source({ sampler: new DecoratingSampler() }) },
  ];
}

const up = upstreamAttributes('unix:///run/containerd/containerd.sock');

function factsOf(c: Case): CallSpanFacts {
  const f = callSpanFacts(c.source ?? source(), { call: c.call, ids: c.ids ?? {}, upstream: up, serverStreaming: c.serverStreaming ?? false });
  assert.ok(f, `${c.name}: sampled`);
  return f;
}

const decode = (bytes: Uint8Array) => decodeOtlp(REQUEST, Buffer.from(bytes));
/** Spans as the live queue holds them: one batch's fields, back to back. */
function batchOf(spans: Uint8Array[]): Uint8Array {
  const batch = new SpanBatch(16); // small on purpose: growing it mid-batch is part of the test
  for (const s of spans) batch.add(s);
  return batch.bytes;
}

test('each span critap encodes decodes to what the SDK serializer wrote for the same span', () => {
  const w = new ProtoWriter(64); // small on purpose: growing the buffer mid-span is part of the test
  for (const c of cases()) {
    const src = c.source ?? source();
    const f = factsOf(c);
    const ours = encodeExportRequest(requestFrame(src.resource, src.scope), batchOf([encodeSpan(w, f)]));
    const sdk = ProtobufTraceSerializer.serializeRequest([spanFromFacts(src, f)])!;
    assert.deepEqual(decode(ours), decode(sdk), c.name);
    // The decoder cannot tell a zero written from a zero left out; the bytes can. The fields go in
    // the SDK's order, so the requests are the same bytes.
    assert.equal(Buffer.from(ours).toString('hex'), Buffer.from(sdk).toString('hex'), c.name);
  }
});

test('a batch of spans is one request with one resource and scope, as the SDK writes it', () => {
  const src = source();
  const all = cases().filter((c) => !c.source);
  const facts = all.map(factsOf);
  const w = new ProtoWriter();
  const oursBytes = encodeExportRequest(requestFrame(src.resource, src.scope), batchOf(facts.map((f) => encodeSpan(w, f))));
  const sdkBytes = ProtobufTraceSerializer.serializeRequest(facts.map((f) => spanFromFacts(src, f)))!;
  const ours = decode(oursBytes);
  assert.deepEqual(ours, decode(sdkBytes));
  assert.equal(oursBytes.toString('hex'), Buffer.from(sdkBytes).toString('hex'));
  assert.equal(ours.resource_spans.length, 1);
  assert.equal(ours.resource_spans[0].scope_spans[0].spans.length, all.length);
});

test('what the encoded spans say: kind, flags, parent, events and the dropped count', () => {
  const [unary, parented, , , stream, , faulted] = cases().map((c) => {
    const src = c.source ?? source();
    return decode(encodeExportRequest(requestFrame(src.resource, src.scope), batchOf([encodeSpan(new ProtoWriter(), factsOf(c))]))).resource_spans[0].scope_spans[0].spans[0];
  });
  assert.equal(unary.kind, 2, 'SERVER');
  assert.equal(unary.flags, 0x101, 'sampled, parent not remote');
  assert.equal(unary.parent_span_id, undefined);
  assert.equal(parented.flags, 0x301, 'sampled, remote parent');
  assert.equal(parented.parent_span_id.toString('hex'), '00f067aa0ba902b7');
  assert.equal(parented.trace_state, 'k8s=1,a=b');
  assert.equal(stream.events.length, 4);
  assert.equal(stream.dropped_events_count, 5);
  assert.equal(stream.events[0].time_unix_nano, String(1_760_000_002_000_000_000n + 6000n));
  assert.equal(faulted.status.code, 2);
  assert.equal(faulted.status.message, 'UNAVAILABLE');
  assert.equal(faulted.events[0].name, 'critap.fault.injected');
});

test('a call the sampler leaves out has no span', () => {
  const call = makeCall({ method: `${RUNTIME}/Version`, request: {}, metadata: [['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00']] });
  assert.equal(callSpanFacts(source(), { call, ids: {}, upstream: up, serverStreaming: false }), undefined);
});

test('the collector\'s partial success answer is read', () => {
  // ExportTraceServiceResponse { partial_success { rejected_spans: 300, error_message: "too big" } }
  const msg = Buffer.from('too big');
  const inner = Buffer.concat([Buffer.from([0x08, 0xac, 0x02, 0x12, msg.length]), msg]);
  const bytes = Buffer.concat([Buffer.from([0x0a, inner.length]), inner, Buffer.from([0x18, 0x01])]);
  assert.deepEqual(decodeExportResponse(bytes), { partialSuccess: { rejectedSpans: 300, errorMessage: 'too big' } });
  assert.deepEqual(decodeExportResponse(new Uint8Array(0)), {});
});

test('ProtoWriter.take gives exactly the bytes written, short or long, and starts the writer afresh', () => {
  const w = new ProtoWriter(16);
  for (const n of [0, 1, 300, 1024, 1025, 5000]) {
    const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff));
    w.raw(bytes);
    const out = w.take();
    assert.ok(out.equals(bytes), `${n} bytes`);
    assert.equal(w.pos, 0);
    w.raw(Buffer.from([0xee])); // what is written after take does not reach what take gave
    assert.ok(out.equals(bytes), `${n} bytes, after more writing`);
    w.take();
  }
});
