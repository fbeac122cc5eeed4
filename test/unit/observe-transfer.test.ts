import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packBatch, packHeaders, unpackBatch, unpackHeaders, type ObservedEvent } from '../../src/observe/transfer.js';
import type { Header } from '../../src/call.js';
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
  const cloned = structuredClone(batch, { transfer: batch.buffers });
  assert.equal(batch.buffers.length, 1, 'small bodies share one buffer');
  assert.equal(batch.buffers[0]!.byteLength, 0, 'the body buffer was transferred, not copied');
  const out = unpackBatch(cloned);
  assert.deepEqual(out[0], events[0]);
  for (const i of [1, 2]) {
    const got = (out[i] as { end: CallRecord }).end;
    const want = (events[i] as { end: CallRecord }).end;
    assert.ok(Buffer.isBuffer(got.requests[0]!.data));
    assert.deepEqual(got, want);
  }
});

test('a start crosses as its method and start time only (its metadata comes with the end)', () => {
  const start = { method: '/m', startNs: 7n, requestMetadata: [['user-agent', 'kubelet']] as [string, string][], peer: { pid: 3 } };
  const out = unpackBatch(structuredClone(packBatch([{ start }])));
  assert.deepEqual(out, [{ start: { method: '/m', startNs: 7n, requestMetadata: [] } }]);
});

test('header lists cross as one string, and as they are when a value holds a NUL', () => {
  const lists: Header[][] = [
    [],
    [['a', '']],
    [['', 'x'], ['user-agent', 'kubelet/1.31 é'], ['grpc-timeout', '2S']],
  ];
  for (const list of lists) {
    const packed = packHeaders(list);
    assert.equal(typeof packed, 'string');
    assert.deepEqual(unpackHeaders(packed), list);
  }
  const odd: Header[] = [['x-odd', 'a\0b'], ['y', 'z']];
  assert.equal(packHeaders(odd), odd, 'a NUL keeps the list as it is');
  const r = record(4);
  r.requestMetadata = odd;
  const [out] = unpackBatch(structuredClone(packBatch([{ end: r }])));
  assert.deepEqual((out as { end: CallRecord }).end.requestMetadata, odd);
});

test('an empty batch and calls without bodies pack fine', () => {
  assert.deepEqual(unpackBatch(packBatch([])), []);
  const r = record(2);
  r.requests = [];
  r.responses = [];
  assert.deepEqual(unpackBatch(packBatch([{ end: r }])), [{ end: r }]);
});

test('with move, a large body that owns its buffer is moved, not copied; small ones share one copy', () => {
  const big = Buffer.alloc(256 * 1024, 9); // its own ArrayBuffer, like a captured body
  const r = record(3);
  r.responses = [{ offsetNs: 5, data: big }, { offsetNs: 6, data: big }];
  const want = Buffer.from(big);
  const batch = packBatch([{ end: r }], { move: true });
  assert.equal(batch.buffers.length, 2, 'the small-body buffer and the one moved buffer (referenced twice)');
  assert.equal(batch.buffers[0]!.byteLength, r.requests[0]!.data.length, 'only small bodies were copied');
  const cloned = structuredClone(batch, { transfer: batch.buffers });
  assert.equal(big.length, 0, 'the moved body is gone from this side');
  const got = (unpackBatch(cloned)[0] as { end: CallRecord }).end;
  assert.ok(got.responses[0]!.data.equals(want) && got.responses[1]!.data.equals(want));
  assert.ok(got.requests[0]!.data.equals(Buffer.from('req-3')));
});

test('without move (or for slices of a larger buffer), large bodies are copied and stay usable here', () => {
  const chunk = Buffer.alloc(512 * 1024, 3);
  const slice = chunk.subarray(1024, 1024 + 200 * 1024);
  const own = Buffer.alloc(200 * 1024, 4);
  const r = record(4);
  r.responses = [{ offsetNs: 1, data: slice }];
  const moved = packBatch([{ end: r }], { move: true });
  assert.equal(moved.buffers.length, 1, 'a slice of a larger buffer is copied even with move');
  r.responses = [{ offsetNs: 1, data: own }];
  const copied = packBatch([{ end: r }]);
  structuredClone(copied, { transfer: copied.buffers });
  assert.equal(own.length, 200 * 1024, 'not moved without move');
});
