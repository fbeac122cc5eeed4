import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTelemetry } from '../../src/telemetry/telemetry.js';
import { startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { POD, RUNTIME, makeCall, podStartCalls } from '../support/telemetry-calls.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const KUBELET_SPAN = '00f067aa0ba902b7';
const SANDBOX = 'a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0a1b2';
const CONTAINER = 'f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1';

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const s = spans.find((x) => x.name === name);
  assert.ok(s, `no span named ${name}; got ${spans.map((x) => x.name).join(', ')}`);
  return s;
}

test('live sink: spans with names, attributes, kubelet parent, pod linking, stream events and errors', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const telemetry = await createTelemetry({
    otlpEndpoint: receiver.url,
    serviceName: 'critap-test',
    upstream: 'unix:///run/containerd/containerd.sock',
    spanQueue: { scheduledDelayMillis: 20 },
  });
  assert.equal(telemetry.tracing, true);
  assert.equal(telemetry.needsBodies, true);

  const traced: [string, string][] = [
    ['content-type', 'application/grpc'],
    ['traceparent', `00-${TRACE_ID}-${KUBELET_SPAN}-01`],
    ['tracestate', 'k8s=1'],
  ];
  const calls = podStartCalls(SANDBOX, CONTAINER, traced);
  const events = makeCall({
    method: `${RUNTIME}/GetContainerEvents`,
    request: {},
    response: [
      { containerId: CONTAINER, containerEventType: 'CONTAINER_CREATED_EVENT' },
      { containerId: CONTAINER, containerEventType: 'CONTAINER_STARTED_EVENT' },
      { containerId: CONTAINER, containerEventType: 'CONTAINER_STOPPED_EVENT' },
    ],
    offsetsNs: [1_000, 2_000_000, 3_000_000_000],
    durationNs: 4_000_000_000,
    status: { code: 1, message: 'context canceled' },
  });
  const failed = makeCall({
    method: `${RUNTIME}/ContainerStatus`,
    request: { containerId: 'gone' },
    status: { code: 5, message: 'an error occurred when try to find container "gone": not found' },
  });
  for (const c of [...calls, events, failed]) {
    telemetry.onCallStart({ method: c.method, startNs: c.startNs, requestMetadata: c.requestMetadata });
    telemetry.onCallEnd(c);
  }
  await telemetry.close();
  const spans = await receiver.waitForSpans(5);
  assert.equal(spans.length, 5);
  assert.equal(telemetry.spansDropped, 0);

  const run = byName(spans, 'runtime.v1.RuntimeService/RunPodSandbox');
  assert.equal(run.kind, 2, 'SERVER');
  assert.equal(run.traceId, TRACE_ID);
  assert.equal(run.parentSpanId, KUBELET_SPAN);
  assert.equal(run.traceState, 'k8s=1');
  assert.equal(run.startNs, calls[0]!.startNs);
  assert.equal(run.endNs - run.startNs, BigInt(calls[0]!.durationNs));
  assert.equal(run.attributes['rpc.system'], 'grpc');
  assert.equal(run.attributes['rpc.service'], 'runtime.v1.RuntimeService');
  assert.equal(run.attributes['rpc.method'], 'RunPodSandbox');
  assert.equal(run.attributes['rpc.grpc.status_code'], 0);
  assert.equal(run.attributes['server.address'], '/run/containerd/containerd.sock');
  assert.equal(run.attributes['network.transport'], 'unix');
  assert.equal(run.attributes['rpc.request.size'], calls[0]!.requestBytes);
  assert.equal(run.attributes['rpc.response.size'], calls[0]!.responseBytes);
  assert.equal(run.attributes['k8s.pod.name'], POD.name);
  assert.equal(run.attributes['k8s.namespace.name'], POD.namespace);
  assert.equal(run.attributes['k8s.pod.uid'], POD.uid);
  assert.equal(run.attributes['critap.pod_sandbox.id'], SANDBOX);
  assert.equal(run.status.code, 0);
  assert.equal(run.resource['service.name'], 'critap-test');

  const create = byName(spans, 'runtime.v1.RuntimeService/CreateContainer');
  assert.equal(create.attributes['container.id'], CONTAINER);
  assert.equal(create.attributes['container.name'], 'nginx');
  assert.equal(create.attributes['container.image.name'], 'registry.local/nginx:1.27');
  const everything = JSON.stringify(spans, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
  assert.ok(!everything.includes('hunter2'), 'request text (an env secret) must not reach the spans');

  // StartContainer's request names only the container; the pod comes from what was learnt before.
  const start = byName(spans, 'runtime.v1.RuntimeService/StartContainer');
  assert.equal(start.attributes['container.id'], CONTAINER);
  assert.equal(start.attributes['critap.pod_sandbox.id'], SANDBOX);
  assert.equal(start.attributes['k8s.pod.name'], POD.name);
  assert.equal(start.attributes['k8s.namespace.name'], POD.namespace);
  assert.equal(start.attributes['k8s.pod.uid'], POD.uid);
  assert.equal(start.attributes['container.name'], 'nginx');
  assert.equal(start.parentSpanId, KUBELET_SPAN);

  const stream = byName(spans, 'runtime.v1.RuntimeService/GetContainerEvents');
  assert.equal(stream.parentSpanId, '', 'no traceparent: a root span');
  assert.notEqual(stream.traceId, TRACE_ID);
  assert.deepEqual(
    stream.events.map((e) => [e.name, e.timeNs - stream.startNs, e.attributes['rpc.message.id'], e.attributes['rpc.message.type']]),
    [
      ['rpc.message', 1_000n, 1, 'SENT'],
      ['rpc.message', 2_000_000n, 2, 'SENT'],
      ['rpc.message', 3_000_000_000n, 3, 'SENT'],
    ],
  );
  assert.equal(stream.events[0]!.attributes['rpc.message.uncompressed_size'], events.responses[0]!.data.length);
  assert.equal(stream.status.code, 2, 'ERROR');
  assert.equal(stream.status.message, 'context canceled');

  const err = byName(spans, 'runtime.v1.RuntimeService/ContainerStatus');
  assert.equal(err.status.code, 2);
  assert.match(err.status.message, /not found/);
  assert.equal(err.attributes['rpc.grpc.status_code'], 5);
  assert.equal(err.events.length, 0, 'unary calls get no message events');
});

test('a kubelet trace that is not sampled gives no critap span', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const telemetry = await createTelemetry({ otlpEndpoint: receiver.url, upstream: '/run/c.sock', spanQueue: { scheduledDelayMillis: 20 } });
  telemetry.onCallEnd(makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {}, metadata: [['traceparent', `00-${TRACE_ID}-${KUBELET_SPAN}-00`]] }));
  telemetry.onCallEnd(makeCall({ method: `${RUNTIME}/Status`, request: {}, response: {} }));
  await telemetry.close();
  const spans = await receiver.waitForSpans(1);
  assert.deepEqual(spans.map((s) => s.name), ['runtime.v1.RuntimeService/Status']);
});

test('tracing off: no bodies needed, no spans, and bad input still gets clear errors', async () => {
  const telemetry = await createTelemetry({ upstream: 'unix:///run/c.sock', tracing: false });
  assert.equal(telemetry.needsBodies, false);
  assert.equal(telemetry.tracing, false);
  telemetry.onCallEnd(makeCall({ method: `${RUNTIME}/Version`, request: {}, response: {} }));
  await telemetry.close();
  await assert.rejects(createTelemetry({ upstream: 'ftp://nope' }), /critap: unsupported endpoint/);
  await assert.rejects(createTelemetry({ upstream: '/run/c.sock', metricsListen: 'nowhere' }), /critap: metrics address/);
});
