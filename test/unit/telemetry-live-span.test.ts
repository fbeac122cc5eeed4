/**
 * The live pipeline's encoder (live-span-encoder.ts) against the reference path it shortcuts:
 * callSpanFacts then encodeSpan, which telemetry-otlp-encoder.test.ts holds to the SDK's
 * serializer. Same call, same bytes; only random ids may differ, and are checked apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Attributes } from '@opentelemetry/api';
import type { CallRecord } from '../../src/call.js';
import { upstreamAttributes } from '../../src/telemetry/call-attributes.js';
import { callSpanFacts, type SpanSource } from '../../src/telemetry/call-span.js';
import { decidesWithoutAttributes, LiveSpanEncoder } from '../../src/telemetry/live-span-encoder.js';
import { encodeSpan } from '../../src/telemetry/otlp-span-encoder.js';
import type { PodIds } from '../../src/telemetry/pod-links.js';
import { ProtoWriter } from '../../src/telemetry/proto-writer.js';
import { AlwaysOff, AlwaysOn, ParentBased, TraceIdRatio, type SpanSampler } from '../../src/telemetry/samplers.js';
import { VERSION } from '../../src/version.js';
import { RUNTIME, makeCall } from '../support/telemetry-calls.js';

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const UNSAMPLED_PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';

const source = (sampler: SpanSampler = new ParentBased(new AlwaysOn())): SpanSource => ({
  resource: resourceFromAttributes({ 'service.name': 'critap-test' }),
  scope: { name: 'critap', version: VERSION },
  sampler,
  eventLimit: 4,
});

interface Case {
  name: string;
  call: CallRecord;
  ids?: PodIds;
  upstream?: Attributes;
  serverStreaming?: boolean;
}

function cases(): Case[] {
  const propagated = makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {} });
  propagated.propagatedTraceparent = '00-0af7651916cd43dd8448eb211c80319c-1111111111111111-01';
  const underParent = makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {}, metadata: [['traceparent', PARENT], ['tracestate', 'k8s=1,a=b']] });
  underParent.propagatedTraceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-2222222222222222-01';
  const truncated = makeCall({ method: `${RUNTIME}/StartContainer`, request: { containerId: 'c1' }, response: {} });
  truncated.truncated = true;
  delete truncated.peer;
  const noExe = makeCall({ method: `${RUNTIME}/Status`, request: {}, response: {} });
  noExe.peer = { pid: 0 };
  const faulted = makeCall({ method: `${RUNTIME}/StartContainer`, request: { containerId: 'c1' }, status: { code: 14, message: '' } });
  faulted.fault = { ruleId: 3, rule: 'method=StartContainer error=UNAVAILABLE', actions: ['error'] };
  const odd = makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {} });
  odd.method = 'no-slash-at-all';
  return [
    { name: 'unary, no parent', call: makeCall({ method: `${RUNTIME}/Version`, request: {}, response: { version: '0.1.0' } }) },
    { name: 'under the kubelet\'s span', call: makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {}, durationNs: 2_500_000_001.4, metadata: [['traceparent', PARENT], ['tracestate', 'k8s=1']] }) },
    {
      name: 'error with every id and a long non-ASCII message',
      call: makeCall({ method: `${RUNTIME}/RunPodSandbox`, request: {}, status: { code: 2, message: `failed «web-0»: ${'x'.repeat(300)}` } }),
      ids: { podName: 'web-0', podNamespace: 'shop', podUid: 'u1', podSandboxId: 's1', containerId: 'c1', containerName: 'nginx', image: 'nginx:1' },
    },
    { name: 'error without a message', call: makeCall({ method: `${RUNTIME}/StopPodSandbox`, request: {}, status: { code: 5, message: '' } }) },
    { name: 'propagated, no parent', call: propagated },
    { name: 'propagated under a parent', call: underParent },
    { name: 'truncated, no peer', call: truncated, ids: { containerId: 'c1' } },
    { name: 'peer without an exe', call: noExe },
    { name: 'tcp upstream', call: makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {} }), upstream: upstreamAttributes('tcp://10.0.0.1:7777') },
    { name: 'an odd method path', call: odd },
    { name: 'fault (the facts path)', call: faulted },
    { name: 'server stream (the facts path)', call: makeCall({ method: `${RUNTIME}/GetContainerEvents`, request: {}, response: [{ containerId: 'a' }, { containerId: 'b' }] }), serverStreaming: true },
    { name: 'an upstream attribute named like a per-call one', call: makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {} }), upstream: { 'critap.call.end': 'x', 'server.address': '/run/x.sock' } },
  ];
}

const unix = upstreamAttributes('unix:///run/containerd/containerd.sock');
/** Trace id and span id: the span's first fields, 2 + 16 and 2 + 8 bytes. */
const IDS_END = 28;

test('the live encoder writes the bytes callSpanFacts and encodeSpan write, call by call', () => {
  const src = source();
  const live = new LiveSpanEncoder(src);
  const w = new ProtoWriter(32); // small: growing mid-span is part of the test
  const ref = new ProtoWriter();
  for (const c of cases()) {
    // Twice: the second time from the method's cached parts.
    for (let round = 0; round < 2; round++) {
      const input = { call: c.call, ids: c.ids ?? {}, upstream: c.upstream ?? unix, serverStreaming: c.serverStreaming ?? false };
      const ours = live.encode(w, input);
      const facts = callSpanFacts(src, input);
      assert.ok(ours && facts, c.name);
      const theirs = encodeSpan(ref, facts);
      assert.equal(ours[0], 0x0a, c.name);
      assert.equal(ours[18], 0x12, c.name);
      // Where a parent or critap's traceparent gave the ids, they are the same; else both random.
      const sent = c.call.propagatedTraceparent?.split('-');
      const parentTrace = c.call.requestMetadata.find(([k]) => k === 'traceparent')?.[1].split('-')[1];
      const traceId = ours.toString('hex', 2, 18);
      if (parentTrace ?? sent) assert.equal(traceId, parentTrace ?? sent![1], c.name);
      else assert.notEqual(traceId, '0'.repeat(32), c.name);
      if (sent) assert.equal(ours.toString('hex', 20, 28), sent[2], c.name);
      const same = Buffer.concat([ours.subarray(0, IDS_END), theirs.subarray(IDS_END)]);
      assert.equal(ours.toString('hex'), same.toString('hex'), c.name);
    }
  }
});

test('the live encoder leaves out what the sampler leaves out', () => {
  const call = makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {}, metadata: [['traceparent', UNSAMPLED_PARENT]] });
  const input = { call, ids: {}, upstream: unix, serverStreaming: false };
  assert.equal(new LiveSpanEncoder(source()).encode(new ProtoWriter(), input), undefined);
  assert.equal(new LiveSpanEncoder(source(new AlwaysOff())).encode(new ProtoWriter(), { ...input, call: makeCall({ method: `${RUNTIME}/Version` }) }), undefined);
  assert.ok(new LiveSpanEncoder(source(new AlwaysOn())).encode(new ProtoWriter(), input), 'always on ignores the parent');
  // A ratio sampler decides by trace id: a parent's id decides the same way every time.
  const ratio = new LiveSpanEncoder(source(new ParentBased(new TraceIdRatio(0.5))));
  const root = makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {} });
  root.propagatedTraceparent = '00-00000000000000000000000000000001-1111111111111111-01';
  assert.ok(ratio.encode(new ProtoWriter(), { ...input, call: root }));
  root.propagatedTraceparent = '00-ffffffff000000000000000000000000-1111111111111111-01';
  assert.equal(ratio.encode(new ProtoWriter(), { ...input, call: root }), undefined);
});

test('only critap\'s own samplers take the direct path', () => {
  assert.equal(decidesWithoutAttributes(new ParentBased(new AlwaysOn())), true);
  assert.equal(decidesWithoutAttributes(new ParentBased(new TraceIdRatio(0.1))), true);
  assert.equal(decidesWithoutAttributes(new AlwaysOff()), true);
  const custom: SpanSampler = { shouldSample: () => ({ decision: 2, attributes: { added: 1 } }), toString: () => 'custom' };
  assert.equal(decidesWithoutAttributes(custom), false);
  assert.equal(decidesWithoutAttributes(new ParentBased(custom)), false);
  // And a custom one's attributes still reach the span, through the facts path.
  const call = makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {} });
  const span = new LiveSpanEncoder(source(custom)).encode(new ProtoWriter(), { call, ids: {}, upstream: unix, serverStreaming: false })!;
  assert.ok(span.includes(Buffer.from('added')));
});
