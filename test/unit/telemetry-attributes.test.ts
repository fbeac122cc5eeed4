import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import type { CallRecord } from '../../src/call.js';
import { callAttributes, spanName, splitMethodPath, upstreamAttributes } from '../../src/telemetry/call-attributes.js';
import { nsToHrTime } from '../../src/telemetry/call-span.js';
import { parentContext } from '../../src/telemetry/trace-parent.js';

function call(over: Partial<CallRecord> = {}): CallRecord {
  return {
    method: '/runtime.v1.RuntimeService/StartContainer',
    startNs: 1n,
    durationNs: 10,
    requests: [{ offsetNs: 0, data: Buffer.from('secret request text') }],
    responses: [],
    status: { code: 5, message: 'container "x" not found' },
    end: 'trailers',
    requestMetadata: [],
    responseHeaders: [],
    responseTrailers: [],
    requestBytes: 25,
    responseBytes: 0,
    ...over,
  };
}

test('method paths split into service and method; span names drop the slash', () => {
  assert.deepEqual(splitMethodPath('/runtime.v1.RuntimeService/RunPodSandbox'), {
    service: 'runtime.v1.RuntimeService',
    method: 'RunPodSandbox',
  });
  assert.deepEqual(splitMethodPath('/weird'), { service: '', method: 'weird' });
  assert.equal(spanName('/runtime.v1.ImageService/PullImage'), 'runtime.v1.ImageService/PullImage');
});

test('upstream attributes: unix socket path or tcp host and port', () => {
  assert.deepEqual(upstreamAttributes('unix:///run/containerd/containerd.sock'), {
    'server.address': '/run/containerd/containerd.sock',
    'network.transport': 'unix',
  });
  assert.deepEqual(upstreamAttributes('tcp://127.0.0.1:10010'), {
    'server.address': '127.0.0.1',
    'server.port': 10010,
    'network.transport': 'tcp',
  });
  assert.throws(() => upstreamAttributes('http://x'), /^EndpointError: critap:|critap:/);
});

test('call attributes carry method, status, sizes, ids and peer, never body text', () => {
  const a = callAttributes(
    call({ peer: { pid: 7, exe: '/usr/bin/kubelet' } }),
    { containerId: 'c1', podName: 'web-0', podNamespace: 'shop', podUid: 'u1', containerName: 'nginx', image: 'nginx', podSandboxId: 's1' },
    upstreamAttributes('/run/c.sock'),
  );
  assert.equal(a['rpc.system'], 'grpc');
  assert.equal(a['rpc.service'], 'runtime.v1.RuntimeService');
  assert.equal(a['rpc.method'], 'StartContainer');
  assert.equal(a['rpc.grpc.status_code'], 5);
  assert.equal(a['rpc.request.size'], 25);
  assert.equal(a['rpc.response.size'], 0);
  assert.equal(a['server.address'], '/run/c.sock');
  assert.equal(a['k8s.pod.name'], 'web-0');
  assert.equal(a['k8s.namespace.name'], 'shop');
  assert.equal(a['k8s.pod.uid'], 'u1');
  assert.equal(a['container.id'], 'c1');
  assert.equal(a['container.name'], 'nginx');
  assert.equal(a['container.image.name'], 'nginx');
  assert.equal(a['critap.pod_sandbox.id'], 's1');
  assert.equal(a['critap.peer.pid'], 7);
  assert.equal(a['critap.peer.exe'], '/usr/bin/kubelet');
  for (const v of Object.values(a)) assert.ok(!String(v).includes('secret request text'));
});

test('absent ids leave no empty attributes behind', () => {
  const a = callAttributes(call(), {}, {});
  for (const k of ['k8s.pod.name', 'container.id', 'critap.pod_sandbox.id', 'critap.peer.pid']) assert.ok(!(k in a), k);
});

test('nanosecond timestamps convert to HrTime without losing precision', () => {
  assert.deepEqual(nsToHrTime(1_760_000_000_123_456_789n), [1_760_000_000, 123_456_789]);
  assert.deepEqual(nsToHrTime(999n), [0, 999]);
});

test('a W3C traceparent in the metadata becomes the parent; none gives a root', () => {
  const ctx = parentContext([
    ['content-type', 'application/grpc'],
    ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['tracestate', 'vendor=abc'],
  ]);
  const sc = trace.getSpanContext(ctx);
  assert.equal(sc?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(sc?.spanId, '00f067aa0ba902b7');
  assert.equal(sc?.isRemote, true);
  assert.equal(sc?.traceState?.get('vendor'), 'abc');
  assert.equal(trace.getSpanContext(parentContext([['content-type', 'application/grpc']])), undefined);
  // A malformed traceparent is ignored rather than trusted.
  assert.equal(trace.getSpanContext(parentContext([['traceparent', 'garbage']])), undefined);
});

test('call attributes keep their keys in one order (the OTLP exporter writes them in it)', () => {
  const a = callAttributes(
    call({ peer: { pid: 7, exe: '/usr/bin/kubelet' }, truncated: true }),
    { containerId: 'c1', podName: 'web-0', podNamespace: 'shop', podUid: 'u1', containerName: 'nginx', image: 'nginx:1', podSandboxId: 's1' },
    upstreamAttributes('tcp://127.0.0.1:10010'),
  );
  assert.deepEqual(Object.entries(a), [
    ['server.address', '127.0.0.1'],
    ['server.port', 10010],
    ['network.transport', 'tcp'],
    ['rpc.system', 'grpc'],
    ['rpc.service', 'runtime.v1.RuntimeService'],
    ['rpc.method', 'StartContainer'],
    ['rpc.grpc.status_code', 5],
    ['rpc.request.size', 25],
    ['rpc.response.size', 0],
    ['critap.call.end', 'trailers'],
    ['k8s.pod.name', 'web-0'],
    ['k8s.namespace.name', 'shop'],
    ['k8s.pod.uid', 'u1'],
    ['container.id', 'c1'],
    ['container.name', 'nginx'],
    ['container.image.name', 'nginx:1'],
    ['critap.pod_sandbox.id', 's1'],
    ['critap.peer.pid', 7],
    ['critap.peer.exe', '/usr/bin/kubelet'],
    ['critap.body_truncated', true],
  ]);
  // The upstream object is shared by every span of a pipeline: building one must not change it.
  const upstream = upstreamAttributes('/run/c.sock');
  callAttributes(call(), {}, upstream);
  assert.deepEqual(Object.keys(upstream), ['server.address', 'network.transport']);
});
