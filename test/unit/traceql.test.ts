import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReceivedSpan } from '../support/otlp-receiver.js';
import { matchesFilter, parseTraceQl, queryRefs } from '../support/traceql.js';

function span(over: Partial<ReceivedSpan> & { durationMs?: number }): ReceivedSpan {
  const startNs = 1_760_000_000_000_000_000n;
  return {
    name: 'runtime.v1.RuntimeService/Version',
    traceId: '',
    spanId: '',
    parentSpanId: '',
    traceState: '',
    kind: 2,
    startNs,
    endNs: startNs + BigInt(Math.round((over.durationMs ?? 1) * 1e6)),
    attributes: {},
    events: [],
    links: [],
    status: { code: 0, message: '' },
    resource: { 'service.name': 'critap' },
    scope: 'critap',
    ...over,
  };
}

const matches = (q: string, s: ReceivedSpan) => matchesFilter(parseTraceQl(q), s);

test('traceql subset: comparisons on strings, numbers, durations, nil, intrinsics; && before ||', () => {
  const pod = span({ durationMs: 150, attributes: { 'rpc.system': 'grpc', 'k8s.pod.name': 'web-0', 'rpc.grpc.status_code': 5 }, status: { code: 2, message: 'not found' } });
  const fast = span({ durationMs: 2, attributes: { 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0 } });

  assert.equal(matches('{ resource.service.name = "critap" && duration > 100ms }', pod), true);
  assert.equal(matches('{ resource.service.name = "critap" && duration > 100ms }', fast), false);
  assert.equal(matches('{ resource.service.name = "other" }', pod), false);
  assert.equal(matches('{ duration >= 150ms && duration <= 0.15s && duration < 1s }', pod), true);
  assert.equal(matches('{ span.k8s.pod.name != nil }', pod), true);
  assert.equal(matches('{ span.k8s.pod.name != nil }', fast), false);
  assert.equal(matches('{ span.k8s.pod.name = nil }', fast), true);
  assert.equal(matches('{ span.service.name = "critap" }', pod), false, 'span. does not look at the resource');
  assert.equal(matches('{ .service.name = "critap" && .k8s.pod.name = "web-0" }', pod), true, 'unscoped: span, else resource');
  assert.equal(matches('{ span.k8s.pod.name =~ "web-.*" }', pod), true);
  assert.equal(matches('{ span.k8s.pod.name =~ "web" }', pod), false, 'regular expressions are anchored');
  assert.equal(matches('{ span.k8s.pod.name !~ "db-.*" }', pod), true);
  assert.equal(matches('{ span.rpc.grpc.status_code >= 5 && status = error && kind = server }', pod), true);
  assert.equal(matches('{ span.rpc.grpc.status_code = "5" }', pod), false, 'a string is not the int attribute');
  assert.equal(matches('{ span.missing != "x" }', pod), false, 'a comparison on a missing attribute is false');
  assert.equal(matches('{ name = "runtime.v1.RuntimeService/Version" && statusMessage = "not found" }', pod), true);
  assert.equal(matches('{ span.rpc.grpc.status_code = 0 || span.k8s.pod.name = "web-0" && duration > 1s }', pod), false);
  assert.equal(matches('{ span.rpc.grpc.status_code = 0 || span.k8s.pod.name = "web-0" && duration > 1s }', fast), true);
  assert.equal(matches('{ }', fast), true);
});

test('traceql subset: select and metrics stages give their attributes; anything else is refused', () => {
  const q = parseTraceQl('{ span.k8s.pod.name != nil } | select(span.rpc.method, resource.host.name) | quantile_over_time(duration, .99) by (span.k8s.pod.name, .k8s.namespace.name)');
  assert.deepEqual(q.select.map((r) => r.text), ['span.rpc.method', 'resource.host.name']);
  assert.equal(q.metrics?.fn, 'quantile_over_time');
  assert.deepEqual(q.metrics?.args, [{ scope: 'intrinsic', name: 'duration', text: 'duration' }, { kind: 'number', value: 0.99 }]);
  assert.deepEqual(q.metrics?.by.map((r) => r.text), ['span.k8s.pod.name', '.k8s.namespace.name']);
  assert.deepEqual(
    queryRefs(q).map((r) => r.text),
    ['span.k8s.pod.name', 'span.rpc.method', 'resource.host.name', 'duration', 'span.k8s.pod.name', '.k8s.namespace.name'],
  );
  for (const bad of [
    '{ span.a = $var }',
    '{ (span.a = 1) }',
    '{ span.a == 1 }',
    '{ span.a = 1 } | by(span.a)',
    '{ span.a = 1 } >> { span.b = 2 }',
    '{ span.a = 1 && }',
    '{ span.a = 1',
    '{ span.a = unknownword }',
  ]) {
    assert.throws(() => parseTraceQl(bad), /traceql:/, bad);
  }
});
