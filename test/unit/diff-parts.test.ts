import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallRecord } from '../../src/call.js';
import { decodeMessage } from '../../src/cri/codec.js';
import { extractIds } from '../../src/cri/ids.js';
import { lookupMethod } from '../../src/cri/methods.js';
import type { StoredCall } from '../../src/record/stored-call.js';
import { diffRecordings } from '../../src/diff/compare.js';
import { flatten, maskString, maskValue } from '../../src/diff/mask.js';
import { SharedBodies } from '../../src/record/shared-bodies.js';
import { createContainer, makeCall, runPodSandbox, startContainer, T0, V1, versionCall } from './record-fixtures.js';

function stored(calls: CallRecord[]): StoredCall[] {
  return calls.map((call, i) => {
    const info = lookupMethod(call.method)!;
    const req = decodeMessage(info.requestType, call.requests[0]!.data) as Record<string, unknown>;
    const res = call.responses[0] ? (decodeMessage(info.responseType, call.responses[0].data) as Record<string, unknown>) : undefined;
    return { ...call, key: `k${i}`, ids: extractIds(info, req, res) };
  });
}

test('masking: ids, digests, times, IPs, loopback ports, /tmp folders, streaming tokens; loopback stays loopback', () => {
  assert.equal(maskString(`sha256:${'a'.repeat(64)}`), 'sha256:<digest>');
  assert.equal(maskString('b'.repeat(64)), '<id>');
  assert.equal(maskString('http://127.0.0.1:36925/exec/Zx81-aQ'), 'http://127.0.0.1:<port>/exec/<token>');
  assert.equal(maskString('127.0.0.1:5000/critap/busybox:1'), '127.0.0.1:<port>/critap/busybox:1');
  assert.equal(maskString('10.88.109.2'), '<ip>');
  assert.equal(maskString('/tmp/critap-walk-a92kq4/pod-logs'), '/tmp/<tmp>/pod-logs');
  assert.equal(maskString('sb-short-id', new Map([['sb-short-id', '<pod web>']])), '<pod web>');
  assert.deepEqual(maskValue({ status: { createdAt: '2026-11-27T00:49:21Z', state: 'SANDBOX_READY' } }), { status: { createdAt: '<time>', state: 'SANDBOX_READY' } });
  // Lists compare as sets.
  assert.deepEqual(flatten({ l: ['b', 'a'] }), flatten({ l: ['a', 'b'] }));
});

test('diff: calls align by life cycle across different ids; a changed answer, a missing call and the latency ratio show', () => {
  const a = stored([versionCall(T0), runPodSandbox('sb-aaaa-1111', T0 + 1000n), createContainer('sb-aaaa-1111', 'ctr-aaaa-1', T0 + 2000n), startContainer('ctr-aaaa-1', T0 + 3000n)]);
  const bCalls = [
    makeCall({ method: V1 + 'Version', request: { version: '0.1.0' }, responses: [{ version: '0.1.0', runtimeName: 'cri-o', runtimeVersion: '1.26.4', runtimeApiVersion: 'v1' }], startNs: T0, durationNs: 824_690 }),
    runPodSandbox('sb-bbbb-2222', T0 + 1000n),
    createContainer('sb-bbbb-2222', 'ctr-bbbb-2', T0 + 2000n),
  ];
  const d = diffRecordings('a', a, 'b', stored(bCalls));
  assert.equal(d.aligned, 3);
  assert.equal(d.equal, 2, 'RunPodSandbox and CreateContainer equal once their ids are masked');
  assert.deepEqual(d.differing.map((c) => c.key), ['node · Version #1']);
  assert.deepEqual(d.differing[0]!.fields.map((f) => [f.path, f.a, f.b]), [
    ['response.runtimeName', '"containerd"', '"cri-o"'],
    ['response.runtimeVersion', '"v2.1.0"', '"1.26.4"'],
  ]);
  assert.deepEqual(d.onlyInA, ['pod web/nginx · container app · StartContainer #1']);
  assert.deepEqual(d.onlyInB, []);
  const version = d.latency.find((r) => r.method.endsWith('/Version'))!;
  assert.equal(version.ratio, 2);
});

test('diff: calls that share body buffers (as critap diff reads them) are still compared call by call, status included', () => {
  const bodies = new SharedBodies();
  const read = (calls: StoredCall[]) => {
    for (const c of calls) bodies.shareCall(c);
    return calls;
  };
  const ok = (t: bigint) => versionCall(T0 + t);
  const a = read(stored([ok(0n), ok(1000n), ok(2000n), ok(3000n)]));
  // b: the second answer's bytes are a's, but it ended in an error; the fourth has other bytes.
  const failed = { ...ok(1000n), status: { code: 2, message: 'boom' } };
  const other = makeCall({ method: V1 + 'Version', request: { version: '0.1.0' }, responses: [{ version: '0.1.0', runtimeName: 'cri-o', runtimeVersion: '1.26.4', runtimeApiVersion: 'v1' }], startNs: T0 + 3000n, durationNs: 1000 });
  const b = read(stored([ok(0n), failed, ok(2000n), other]));
  assert.equal(a[1]!.responses[0]!.data, b[1]!.responses[0]!.data, 'the same buffer on both sides');
  const d = diffRecordings('a', a, 'b', b);
  assert.equal(d.aligned, 4);
  assert.deepEqual(d.differing.map((c) => c.key), ['node · Version #2', 'node · Version #4']);
  assert.deepEqual(d.differing[0]!.fields.map((f) => f.path), ['status', 'statusMessage']);
  assert.ok(d.differing[1]!.fields.some((f) => f.path === 'response.runtimeName'));
});
