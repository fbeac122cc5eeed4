import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEcho, echoPairs } from '../../src/replay/echo.js';
import { canonicalText, diffJson, formatPath } from '../../src/replay/json-diff.js';
import { parseTiming, scaledMs } from '../../src/replay/timing.js';
import { answerFrom, fromMetadata, toMetadata } from '../../src/replay/answer.js';
import { encodeMessage, decodeMessage } from '../../src/cri/codec.js';
import { lookupMethod } from '../../src/cri/methods.js';
import type { CallRecord } from '../../src/call.js';

test('diffJson compares leaves: changed, missing on either side; list items by position', () => {
  const d = diffJson({ a: { b: 1, c: 'x' }, l: ['p', 'q'] }, { a: { b: 2 }, l: ['p', 'q', 'r'], z: true });
  assert.deepEqual(
    d.map((x) => [x.path, x.recorded, x.client]),
    [
      ['a.b', 1, 2],
      ['a.c', 'x', undefined],
      ['l[2]', undefined, 'r'],
      ['z', undefined, true],
    ],
  );
  assert.equal(formatPath(['annotations', 'kubernetes.io/config.seen']), 'annotations["kubernetes.io/config.seen"]');
  assert.equal(canonicalText({ b: 1, a: { y: 2, x: 1 } }), canonicalText({ a: { x: 1, y: 2 }, b: 1 }));
  assert.notEqual(canonicalText({ a: 1 }), canonicalText({ a: '1' }));
});

test('echo replaces whole values, and long values inside longer strings; short values only whole', () => {
  const pairs = echoPairs([
    { path: 'x', segments: ['x'], recorded: '/tmp/critap-walk-abc/pod-logs', client: '/var/tmp/mine/pod-logs' },
    { path: 'n', segments: ['n'], recorded: 'web', client: 'api' },
    { path: 'k', segments: ['k'], recorded: 'same', client: 'same' },
  ]);
  assert.equal(pairs.size, 2);
  const r = applyEcho(
    { logPath: '/tmp/critap-walk-abc/pod-logs/c.log', metadata: { name: 'web' }, other: 'website', list: ['web'] },
    pairs,
  );
  assert.equal(r.changed, true);
  assert.deepEqual(r.value, { logPath: '/var/tmp/mine/pod-logs/c.log', metadata: { name: 'api' }, other: 'website', list: ['api'] });
  const untouched = { a: 'nothing to see' };
  const none = applyEcho(untouched, pairs);
  assert.equal(none.changed, false);
  assert.equal(none.value, untouched);
});

test('--timing values', () => {
  assert.equal(parseTiming('none'), undefined);
  assert.equal(parseTiming('recorded'), 1);
  assert.equal(parseTiming('0.5x'), 0.5);
  assert.equal(parseTiming('2X'), 2);
  for (const bad of ['fast', '0x', '-1x', '2', 'x']) assert.throws(() => parseTiming(bad), /critap: --timing wants none, recorded or a factor/);
  assert.equal(scaledMs(3_000_000, 2), 6);
  assert.equal(scaledMs(3_000_000, undefined), 0);
});

test('headers: grpc-js-owned ones are left out, -bin values go back to bytes and round-trip', () => {
  const md = toMetadata([
    ['content-type', 'application/grpc'],
    ['grpc-status', '0'],
    ['x-runtime', 'containerd'],
    ['trace-bin', Buffer.from([1, 2, 3]).toString('base64')],
    ['date', 'today'],
  ]);
  assert.deepEqual(md.get('x-runtime'), ['containerd']);
  assert.deepEqual(md.get('trace-bin'), [Buffer.from([1, 2, 3])]);
  assert.deepEqual(md.get('content-type'), []);
  assert.deepEqual(fromMetadata(md), [
    ['x-runtime', 'containerd'],
    ['trace-bin', 'AQID'],
  ]);
});

function statusCall(containerId: string, logPath: string): CallRecord {
  return {
    method: '/runtime.v1.RuntimeService/ContainerStatus',
    startNs: 1n,
    durationNs: 2_000_000,
    requests: [{ offsetNs: 0, data: encodeMessage('runtime.v1.ContainerStatusRequest', { containerId }) }],
    responses: [{ offsetNs: 1_000_000, data: encodeMessage('runtime.v1.ContainerStatusResponse', { status: { id: containerId, logPath } }) }],
    status: { code: 0, message: '' },
    end: 'trailers',
    requestMetadata: [],
    responseHeaders: [['content-type', 'application/grpc']],
    responseTrailers: [['grpc-status', '0']],
    requestBytes: 0,
    responseBytes: 0,
  };
}

test('answers keep the recorded bytes unless echo changes something', () => {
  const info = lookupMethod('/runtime.v1.RuntimeService/ContainerStatus');
  const call = statusCall('abc', '/tmp/logs-abc/c.log');
  const plain = answerFrom(call, info, new Map());
  assert.equal(plain.messages[0]!.data, call.responses[0]!.data, 'the very same bytes');
  assert.equal(plain.echoed, false);
  const echoed = answerFrom(call, info, new Map([['/tmp/logs-abc', '/srv/mine']]));
  assert.equal(echoed.echoed, true);
  assert.deepEqual(decodeMessage('runtime.v1.ContainerStatusResponse', echoed.messages[0]!.data), { status: { id: 'abc', logPath: '/srv/mine/c.log' } });
  const failed: CallRecord = { ...call, responses: [], status: { code: 5, message: 'not found', details: Buffer.from([8, 5]) }, responseHeaders: [] };
  const a = answerFrom(failed, info, new Map());
  assert.equal(a.code, 5);
  assert.equal(a.headers, undefined, 'trailers-only stays trailers-only');
  assert.deepEqual(a.trailers.get('grpc-status-details-bin'), [Buffer.from([8, 5])]);
});
