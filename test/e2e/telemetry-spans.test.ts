/**
 * Spans of the seed walkthrough through critap against the real containerd, as an OTLP/gRPC
 * collector (test/support/otlp-receiver.ts) receives them: names, rpc.* attributes, pod and
 * container attributes (StartContainer linked to its pod), parents from the caller's
 * traceparent, no secrets; and a collector that is down leaves forwarding untouched.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { startObservedProxy } from '../../src/proxy/observed-proxy.js';
import { makeCriClient, type CallOptions, type CriClient, type CriMessage } from '../support/cri-client.js';
import { tempSocketPath } from '../support/fake-upstream.js';
import { startOtlpReceiver, type AttrValue, type ReceivedSpan } from '../support/otlp-receiver.js';
import { realRuntimeOrSkip } from '../support/runtime.js';
import { assertSameAnswers, seedWalkthrough, type WalkStep } from '../support/walkthrough.js';
import { freePort } from '../support/registry.js';

/** The kubelet's side of the hop: its CLIENT span, sent as W3C traceparent on every call. */
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const KUBELET_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${KUBELET_SPAN_ID}-01`;

/** What seedWalkthrough puts in the container's environment (GREETING=hello): it must not reach a span. */
const WALK_ENV_VALUE = 'hello';

/** A CRI client that sends `metadata` with every call, as the kubelet sends its traceparent. */
function withMetadata(cri: CriClient, metadata: Record<string, string>): CriClient {
  const merge = (o: CallOptions = {}): CallOptions => ({ ...o, metadata: { ...metadata, ...o.metadata } });
  return {
    ...cri,
    runtime: (m: string, r?: CriMessage, o?: CallOptions) => cri.runtime(m, r, merge(o)),
    image: (m: string, r?: CriMessage, o?: CallOptions) => cri.image(m, r, merge(o)),
  };
}

/** Every string anywhere in an attribute value (arrays, maps and bytes included). */
function stringsIn(v: AttrValue): string[] {
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return [];
  if (typeof v === 'string') return [v];
  if (Buffer.isBuffer(v)) return [v.toString('utf8')];
  if (Array.isArray(v)) return v.flatMap(stringsIn);
  return Object.entries(v).flatMap(([k, x]) => [k, ...stringsIn(x)]);
}


const step = (steps: WalkStep[], method: string) => steps.find((s) => s.method === method)!;

test('the seed walkthrough through critap arrives as spans with rpc, pod and container attributes under the caller\'s trace', { timeout: 180_000 }, async (t) => {
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const proxy = await startObservedProxy({ listen: tempSocketPath('critap-spans'), upstream: rt.endpoint, otlpEndpoint: receiver.url });
  t.after(() => proxy.close(1000));
  const client = makeCriClient(proxy.endpoint);
  t.after(() => client.close());

  const steps = await seedWalkthrough(withMetadata(client, { traceparent: TRACEPARENT }), { image: rt.registry.image, logDir: rt.dir });
  client.close();
  await proxy.close(1000); // flushes the last spans to the collector
  assert.equal((await proxy.observerStats()).spansDropped, 0);

  const spans = receiver.spans;
  assert.equal(spans.length, steps.length, 'one span per call');
  // In call order (the walkthrough is sequential): each span's name is the method without the slash.
  const ordered = [...spans].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  assert.deepEqual(
    ordered.map((s) => s.name),
    steps.map((s) => `runtime.v1.${s.service}/${s.method}`),
  );

  for (const s of spans) {
    const [service, method] = s.name.split('/');
    assert.equal(s.traceId, TRACE_ID, `${s.name}: in the caller's trace`);
    assert.equal(s.parentSpanId, KUBELET_SPAN_ID, `${s.name}: a child of the caller's span`);
    assert.equal(s.kind, 2, `${s.name}: SERVER, the runtime side of the kubelet's CLIENT span`);
    assert.equal(s.attributes['rpc.system'], 'grpc');
    assert.equal(s.attributes['rpc.service'], service);
    assert.equal(s.attributes['rpc.method'], method);
    assert.equal(s.attributes['rpc.grpc.status_code'], 0);
    assert.equal(s.attributes['server.address'], rt.socketPath);
    assert.equal(s.attributes['network.transport'], 'unix');
    assert.ok(Number(s.attributes['rpc.request.size']) >= 5, `${s.name}: request size counts the gRPC prefix`);
    assert.ok(Number(s.attributes['rpc.response.size']) >= 5, `${s.name}: response size counts the gRPC prefix`);
    assert.equal(s.status.code, 0, `${s.name}: status unset (OK)`);
    assert.ok(s.endNs > s.startNs);
    assert.equal(s.resource['service.name'], 'critap');
  }

  const byName = (m: string) => spans.find((s) => s.name.endsWith(`/${m}`))!;
  const podId = step(steps, 'RunPodSandbox').response.pod_sandbox_id as string;
  const containerId = step(steps, 'CreateContainer').response.container_id as string;
  assert.match(podId, /^[0-9a-f]{64}$/);

  const run = byName('RunPodSandbox').attributes;
  assert.equal(run['k8s.pod.name'], 'critap-walk');
  assert.equal(run['k8s.namespace.name'], 'critap-e2e');
  assert.equal(run['k8s.pod.uid'], 'critap-walk-uid');
  assert.equal(run['critap.pod_sandbox.id'], podId, 'the sandbox id, from the response');

  const create = byName('CreateContainer').attributes;
  assert.equal(create['container.id'], containerId, 'from the response');
  assert.equal(create['container.name'], 'sleeper');
  assert.equal(create['container.image.name'], rt.registry.image);
  assert.equal(create['k8s.pod.name'], 'critap-walk');

  // StartContainer carries only the container id; critap links it to the pod it saw created.
  const start = byName('StartContainer').attributes;
  assert.equal(start['container.id'], containerId);
  assert.equal(start['container.name'], 'sleeper');
  assert.equal(start['critap.pod_sandbox.id'], podId);
  assert.equal(start['k8s.pod.name'], 'critap-walk');
  assert.equal(start['k8s.namespace.name'], 'critap-e2e');
  assert.equal(start['k8s.pod.uid'], 'critap-walk-uid');
  for (const m of ['ExecSync', 'StopContainer', 'RemoveContainer']) {
    assert.equal(byName(m).attributes['k8s.pod.name'], 'critap-walk', `${m} linked to its pod`);
  }
  assert.equal(byName('StopPodSandbox').attributes['k8s.pod.uid'], 'critap-walk-uid');
  assert.equal(byName('PullImage').attributes['container.image.name'], rt.registry.image);

  // No secrets: the container's env value appears in no attribute, event or status of any span.
  const leaks = spans.flatMap((s: ReceivedSpan) => {
    const texts = [
      ...Object.values(s.attributes).flatMap(stringsIn),
      ...s.events.flatMap((e) => [e.name, ...Object.values(e.attributes).flatMap(stringsIn)]),
      s.status.message,
      ...Object.values(s.resource).flatMap(stringsIn),
    ];
    return texts.filter((x) => x.includes(WALK_ENV_VALUE)).map((x) => `${s.name}: ${x}`);
  });
  assert.deepEqual(leaks, []);
});

test('a call that fails in containerd gets an error span with the gRPC message', { timeout: 120_000 }, async (t) => {
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const proxy = await startObservedProxy({ listen: tempSocketPath('critap-spans'), upstream: rt.endpoint, otlpEndpoint: receiver.url });
  t.after(() => proxy.close(1000));
  const client = makeCriClient(proxy.endpoint);
  t.after(() => client.close());

  // No traceparent: critap's span is a root of its own trace.
  await assert.rejects(client.runtime('ContainerStatus', { container_id: 'critap-no-such-container' }), /NOT_FOUND/);
  client.close();
  await proxy.close(1000); // flushes the span now instead of after the batch delay
  assert.equal(receiver.spans.length, 1);
  const span = receiver.spans[0];
  assert.equal(span!.name, 'runtime.v1.RuntimeService/ContainerStatus');
  assert.equal(span!.parentSpanId, '');
  assert.equal(span!.attributes['rpc.grpc.status_code'], 5);
  assert.equal(span!.attributes['container.id'], 'critap-no-such-container');
  assert.equal(span!.status.code, 2, 'ERROR');
  assert.match(span!.status.message, /not found/i);
});

test('with the collector down, the walkthrough through critap still works and the lost spans are counted', { timeout: 180_000 }, async (t) => {
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const proxy = await startObservedProxy({
    listen: tempSocketPath('critap-spans'),
    upstream: rt.endpoint,
    otlpEndpoint: `http://127.0.0.1:${await freePort()}`,
  });
  t.after(() => proxy.close(1000));
  assert.equal(proxy.tracing, true);
  const client = makeCriClient(proxy.endpoint);
  t.after(() => client.close());

  const steps = await seedWalkthrough(withMetadata(client, { traceparent: TRACEPARENT }), { image: rt.registry.image, logDir: rt.dir });
  assert.equal(steps.length, 18);
  assert.equal(step(steps, 'ExecSync').response.stdout.toString(), 'hi\n');
  assert.equal(step(steps, 'ContainerStatus').response.status.state, 'CONTAINER_RUNNING');
  assert.deepEqual(step(steps, 'RemovePodSandbox').response, {});

  client.close();
  await proxy.close(1000); // bounded: nobody is there to take the last batch
  assert.equal((await proxy.observerStats()).spansDropped, steps.length, 'every span is lost, and every lost span is counted');
});

test('with --propagate-trace containerd answers the walkthrough as before, and each span carries the ids containerd was sent', { timeout: 180_000 }, async (t) => {
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const rec = `${rt.dir}/propagate-rec-${process.pid}`;
  const proxy = await startObservedProxy({
    listen: tempSocketPath('critap-propagate'),
    upstream: rt.endpoint,
    otlpEndpoint: receiver.url,
    record: rec,
    propagateTrace: true,
  });
  t.after(() => proxy.close(1000));
  const direct = makeCriClient(rt.endpoint);
  const through = makeCriClient(proxy.endpoint);
  t.after(() => {
    direct.close();
    through.close();
  });
  const straight = await seedWalkthrough(withMetadata(direct, { traceparent: TRACEPARENT }), { image: rt.registry.image, logDir: rt.dir });
  const proxied = await seedWalkthrough(withMetadata(through, { traceparent: TRACEPARENT }), { image: rt.registry.image, logDir: rt.dir });
  through.close();
  await proxy.close(1000);
  assertSameAnswers(straight, proxied);
  const spans = await receiver.waitForSpans(proxied.length);
  const { openRecording } = await import('../../src/record/reader.js');
  const reader = await openRecording(rec);
  t.after(() => reader.close());
  let n = 0;
  for await (const call of reader.calls()) {
    const sent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(call.propagatedTraceparent ?? '');
    assert.ok(sent, `${call.method}: containerd was sent critap's traceparent (${call.propagatedTraceparent})`);
    assert.equal(sent[1], TRACE_ID);
    const span = spans.find((s) => s.spanId === sent[2]);
    assert.ok(span, `${call.method}: the span containerd's parent names was exported`);
    assert.equal(span.parentSpanId, KUBELET_SPAN_ID);
    n++;
  }
  assert.equal(n, proxied.length);
});
