import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCallValue, encodeCallValue, ValueDecodeError } from '../../src/record/call-codec.js';
import { callKey, isCallKey, startNsOfKey } from '../../src/record/keys.js';
import { callFromJsonl, callToJsonl, JsonlError } from '../../src/record/jsonl.js';
import { methodMatches, makeMethodFilter } from '../../src/record/method-filter.js';
import { percentile, StatsCollector } from '../../src/record/call-stats.js';
import { isoNs, parseSince } from '../../src/record/time.js';
import { decodeRpcStatus } from '../../src/record/rpc-status.js';
import { makeCall, pullImage, T0, V1 } from './record-fixtures.js';

function streamCall() {
  const c = makeCall({
    method: V1 + 'GetContainerEvents',
    request: {},
    responses: [{ containerId: 'c1', containerEventType: 'CONTAINER_STARTED_EVENT' }, { containerId: 'c2' }],
    startNs: 18_446_744_073_709_551_000n, // beyond 2^64 - a few: bigints must survive exactly
  });
  c.responses[1]!.compressed = true;
  // google.rpc.Status{code: 5, message: "nope", details: [Any{type_url: "t/x", value: 0x01 0x02}]}
  c.status = { code: 5, message: 'nope', details: Buffer.from('0805120' + '46e6f70651a090a03742f78120201' + '02', 'hex') };
  c.truncated = true;
  return c;
}

test('a call survives encode/decode with every byte and the bigint start exact', () => {
  for (const call of [pullImage(T0), streamCall()]) {
    const ids = { podSandboxId: 'sb1', containerName: 'x' };
    const value = encodeCallValue(call, ids, ['request']);
    const back = decodeCallValue('k1', value);
    assert.equal(back.startNs, call.startNs);
    assert.equal(back.key, 'k1');
    assert.deepEqual(back.ids, ids);
    assert.deepEqual(back.redacted, ['request']);
    const { key: _k, ids: _i, redacted: _r, ...rest } = back;
    assert.deepEqual(rest, call);
    for (let i = 0; i < call.responses.length; i++) assert.ok(back.responses[i]!.data.equals(call.responses[i]!.data));
  }
});

test('a damaged value is a ValueDecodeError, not a crash', () => {
  const good = encodeCallValue(pullImage(T0), {}, undefined);
  for (const bad of [Buffer.alloc(2), Buffer.concat([Buffer.from([9]), good.subarray(1)]), good.subarray(0, good.length - 3), Buffer.concat([good, Buffer.from([0])])]) {
    assert.throws(() => decodeCallValue('k', bad), ValueDecodeError);
  }
  const notJson = Buffer.from([1, 0, 0, 0, 3, 0x7b, 0x7b, 0x7b]);
  assert.throws(() => decodeCallValue('k', notJson), /not JSON/);
});

test('call keys sort in start order and carry the start', () => {
  const a = callKey(999n, 5);
  const b = callKey(1000n, 1);
  const c = callKey(1000n, 2);
  assert.deepEqual([c, a, b].sort(), [a, b, c]);
  assert.ok(isCallKey(a));
  assert.equal(startNsOfKey(callKey(T0, 7)), T0);
});

test('JSONL line round trip is exact and the view decodes for people', () => {
  const call = { ...streamCall(), key: 'k', ids: { containerId: 'c1' }, redacted: ['metadata:authorization'] };
  const line = callToJsonl(call);
  const parsed = JSON.parse(line);
  assert.equal(parsed.view.messages.length, 2);
  assert.equal(parsed.view.messages[0].message.containerId, 'c1');
  assert.equal(parsed.view.status.codeName, 'NOT_FOUND');
  assert.deepEqual(parsed.view.status.details, { code: 5, message: 'nope', details: [{ typeUrl: 't/x', value: Buffer.from([1, 2]).toString('base64') }] });
  const back = callFromJsonl(line, 1);
  const { key: _k, ...expected } = call;
  assert.deepEqual(back, expected);
});

test('a bad JSONL line names its line and field', () => {
  const good = JSON.parse(callToJsonl({ ...pullImage(T0), key: 'k', ids: {} }));
  assert.throws(() => callFromJsonl('{nope', 3), (e: unknown) => e instanceof JsonlError && /^line 3: not JSON/.test(e.message));
  assert.throws(() => callFromJsonl(JSON.stringify({ ...good, startNs: 12 }), 4), /line 4: "startNs"/);
  for (const data of ['***', 'QQ==QUFB', 'QU B', 'QUF\n', '====', 'QUFBQ']) {
    assert.throws(() => callFromJsonl(JSON.stringify({ ...good, requests: [{ offsetNs: 0, data }] }), 5), /line 5: "requests\[0\]\.data" must be base64/, data);
  }
  for (const [data, bytes] of [['', 0], ['QQ==', 1], ['QUE=', 2], ['QUFB', 3]] as const) {
    assert.equal(callFromJsonl(JSON.stringify({ ...good, requests: [{ offsetNs: 0, data }] }), 5).requests[0]!.data.length, bytes);
  }
  assert.throws(() => callFromJsonl(JSON.stringify({ ...good, end: 'exploded' }), 6), /line 6: "end"/);
});

test('method patterns: full path, Service/Method, package-qualified service, bare name; case ignored', () => {
  const p = '/runtime.v1.ImageService/PullImage';
  for (const yes of [p, 'ImageService/PullImage', 'runtime.v1.ImageService/PullImage', 'PullImage', 'pullimage', 'imageservice/PULLIMAGE']) assert.ok(methodMatches(yes, p), yes);
  for (const no of ['/runtime.v1alpha2.ImageService/PullImage', 'RuntimeService/PullImage', 'Pull', 'v1.ImageService/PullImag']) assert.ok(!methodMatches(no, p), no);
  const f = makeMethodFilter(['ImageService/PullImage', 'Version'], ['/runtime.v1alpha2.RuntimeService/Version']);
  assert.ok(f(p));
  assert.ok(f('/runtime.v1.RuntimeService/Version'));
  assert.ok(!f('/runtime.v1alpha2.RuntimeService/Version'));
  assert.ok(!f('/runtime.v1.RuntimeService/ListContainers'));
  const excludeOnly = makeMethodFilter([], ['ListContainers']);
  assert.ok(!excludeOnly('/runtime.v1.RuntimeService/ListContainers'));
  assert.ok(excludeOnly('/runtime.v1.RuntimeService/Version'));
});

test('stats: nearest-rank percentiles, errors, bytes', () => {
  assert.equal(percentile([], 50), 0);
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 90), 90);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile([7], 99), 7);
  const s = new StatsCollector();
  for (let i = 1; i <= 10; i++) s.add(makeCall({ method: V1 + 'Version', durationNs: i * 1_000_000, code: i === 10 ? 14 : 0 }));
  const [v] = s.result();
  assert.equal(v!.calls, 10);
  assert.equal(v!.errors, 1);
  assert.equal(v!.p50Ms, 5);
  assert.equal(v!.maxMs, 10);
  assert.ok(v!.bytesIn > 0);
});

test('timestamps print with nanoseconds and --since parses what people type', () => {
  assert.equal(isoNs(1_790_000_000_123_456_789n), '2026-09-21T14:13:20.123456789Z');
  assert.equal(parseSince('2026-09-21T14:13:20.123456789Z'), 1_790_000_000_123_456_789n);
  assert.equal(parseSince('2026-09-21T16:13:20.5+02:00'), 1_790_000_000_500_000_000n);
  assert.equal(parseSince('5m', 1_000_000_000_000n), 1_000_000_000_000n - 300_000_000_000n);
  assert.equal(parseSince('1790000000123456789'), 1_790_000_000_123_456_789n);
  assert.equal(parseSince('yesterday'), undefined);
});

test('google.rpc.Status details that are not a Status come back undefined', () => {
  assert.equal(decodeRpcStatus(Buffer.from([0xff, 0xff, 0xff])), undefined);
});
