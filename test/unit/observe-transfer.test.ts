import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packBatch, unpackBatch, type ObservedEvent } from '../../src/observe/transfer.js';
import type { CallRecord } from '../../src/call.js';

function record(i: number): CallRecord {
  return {
    method: '/runtime.v1.RuntimeService/Version',
    startNs: 1_795_000_000_000_000_000n + BigInt(i),
    durationNs: 1000 + i,
    requests: [{ offsetNs: 10, data: Buffer.from(`req-${i}`) }],
    responses: [
      { offsetNs: 20, data: Buffer.from(`res-${i}-a`) },
      { offsetNs: 30, data: Buffer.alloc(0), compressed: true },
    ],
    status: i % 2 ? { code: 5, message: 'not found', details: Buffer.from([1, 2, 3]) } : { code: 0, message: '' },
    end: 'trailers',
    requestMetadata: [['traceparent', '00-abc-def-01']],
    responseHeaders: [],
    responseTrailers: [['grpc-status', String(i % 2 ? 5 : 0)]],
    requestBytes: 10,
    responseBytes: 20,
    peer: { pid: 42, exe: '/usr/bin/kubelet' },
  };
}

test('a packed batch unpacks to the same calls, bodies as Buffers, through a structured clone', () => {
  const events: ObservedEvent[] = [
    { start: { method: '/m', startNs: 5n, requestMetadata: [] } },
    { end: record(0) },
    { end: record(1) },
  ];
  const batch = packBatch(events);
  // What postMessage does to it (minus the transfer).
  const cloned = structuredClone(batch, { transfer: [batch.bodies] });
  assert.equal(batch.bodies.byteLength, 0, 'the body buffer was transferred, not copied');
  const out = unpackBatch(cloned);
  assert.deepEqual(out[0], events[0]);
  for (const i of [1, 2]) {
    const got = (out[i] as { end: CallRecord }).end;
    const want = (events[i] as { end: CallRecord }).end;
    assert.ok(Buffer.isBuffer(got.requests[0]!.data));
    assert.deepEqual(got, want);
  }
});

test('an empty batch and calls without bodies pack fine', () => {
  assert.deepEqual(unpackBatch(packBatch([])), []);
  const r = record(2);
  r.requests = [];
  r.responses = [];
  assert.deepEqual(unpackBatch(packBatch([{ end: r }])), [{ end: r }]);
});
