import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchPacker, packBatch, unpackBatch, type ObservedEvent } from '../../src/observe/transfer.js';
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
  const numbers = batch.numbers.length;
  const cloned = structuredClone(batch, { transfer: [...batch.buffers, batch.numbers.buffer as ArrayBuffer] });
  assert.equal(batch.buffers.length, 1, 'small bodies share one buffer');
  assert.equal(batch.buffers[0]!.byteLength, 0, 'the body buffer was transferred, not copied');
  assert.equal(batch.numbers.length, 0, 'the numbers were transferred (their buffer is their own), not copied');
  assert.equal(cloned.numbers.length, numbers);
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

test('calls cross as numbers: each distinct string once per batch; any byte in a header, any start time', () => {
  const calls = [record(0), record(1), record(2)];
  const batch = packBatch(calls.map((end) => ({ end })));
  assert.equal(batch.strings.filter((s) => s === '/runtime.v1.RuntimeService/Version').length, 1, 'a method repeated by calls is sent once');
  assert.equal(batch.strings.filter((s) => s === 'traceparent').length, 1);
  assert.deepEqual(unpackBatch(structuredClone(batch)).map((e) => (e as { end: CallRecord }).end), calls);

  const odd = record(4);
  delete odd.peer; // set again last, where the tap sets it
  odd.requestMetadata = [['x-odd', 'a\0b'], ['', ''], ['user-agent', 'kubelet/1.31 é'], ['y', 'z']];
  odd.responseHeaders = [['content-type', 'application/grpc']];
  odd.status = { code: 2, message: 'ünïcode ✓ message' };
  odd.truncated = true;
  odd.authority = '/run/containerd/containerd.sock';
  odd.propagatedTraceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  odd.fault = { ruleId: 3, rule: 'method=Version,error=UNAVAILABLE', actions: ['error'] };
  odd.responses = [{ offsetNs: 9, data: Buffer.alloc(0), spooled: { id: 12, length: 5_000_000 } }];
  odd.peer = { pid: 42, exe: '/usr/bin/kubelet' };
  // Started long before the batch's other calls (a stream open for months), and a start just after.
  const old = record(5);
  old.startNs = odd.startNs - 200n * 86_400n * 1_000_000_000n;
  const events: ObservedEvent[] = [{ end: odd }, { end: old }, { start: { method: '/n', startNs: odd.startNs + 1n, requestMetadata: [] } }];
  const out = unpackBatch(structuredClone(packBatch(events)));
  assert.deepEqual(out, events);
  const got = (out[0] as { end: CallRecord }).end;
  assert.deepEqual(Object.keys(got), Object.keys(odd), 'the fields in the order the tap builds them');
  // The hand-off packs known fields only: a field added to CallRecord fails to compile here, and
  // then this test, until `odd` sets it and it crosses.
  const EVERY_FIELD: Record<keyof CallRecord, true> = {
    method: true, startNs: true, durationNs: true, requests: true, responses: true, status: true, end: true,
    requestMetadata: true, responseHeaders: true, responseTrailers: true, requestBytes: true, responseBytes: true,
    truncated: true, peer: true, authority: true, propagatedTraceparent: true, fault: true,
  };
  assert.deepEqual(new Set(Object.keys(odd)), new Set(Object.keys(EVERY_FIELD)), 'the odd call sets every field a call can have');
});

test('parts and aborts of spooled bodies keep their order among calls', () => {
  const part = Buffer.from('part-bytes');
  const events: ObservedEvent[] = [{ part: { id: 7, data: part } }, { end: record(6) }, { abort: 7 }, { start: { method: '/m', startNs: 1n, requestMetadata: [] } }];
  const out = unpackBatch(structuredClone(packBatch(events)));
  assert.equal(out.length, 4);
  assert.deepEqual((out[0] as { part: { id: number; data: Buffer } }).part, { id: 7, data: part });
  assert.deepEqual(out[1], events[1]);
  assert.deepEqual(out[2], { abort: 7 });
  assert.deepEqual(out[3], events[3]);
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

test("a connection's peer crosses once per batch, shared by its calls; another peer stays apart", () => {
  const kubelet = { pid: 42, exe: '/usr/bin/kubelet' };
  const crictl = { pid: 7, exe: '/usr/bin/crictl' };
  const calls = [record(0), record(1), record(2), record(3)];
  calls[0]!.peer = kubelet;
  calls[1]!.peer = crictl;
  calls[2]!.peer = kubelet;
  delete calls[3]!.peer;
  const batch = packBatch(calls.map((end) => ({ end })));
  assert.equal(batch.extras.filter((x) => x === kubelet).length, 1, 'the shared peer is in extras once');
  assert.ok(batch.extras.includes(crictl));
  const got = unpackBatch(structuredClone(batch)).map((e) => (e as { end: CallRecord }).end);
  assert.deepEqual(got, calls);
  assert.equal(got[0]!.peer, got[2]!.peer, 'calls of one connection share its peer object on the other side too');
  assert.notEqual(got[0]!.peer, got[1]!.peer);
  assert.equal('peer' in got[3]!, false, 'a call without a peer has no peer field');
});

test('a packer filled a call at a time grows its room and gives the same batch as packBatch', () => {
  const events: ObservedEvent[] = [];
  for (let i = 0; i < 40; i++) {
    events.push({ start: { method: '/m', startNs: 1_795_000_000_000_000_000n + BigInt(i), requestMetadata: [] } });
    events.push({ end: record(i) });
  }
  events.push({ part: { id: 3, data: Buffer.from('a part') } }, { abort: 3 });
  // Room for a few numbers and octets only: it must grow many times over.
  const packer = new BatchPacker({}, 8, 4);
  assert.equal(packer.empty, true);
  for (const e of events) packer.add(e);
  assert.equal(packer.ends, 40);
  const grown = packer.finish();
  const exact = packBatch(events);
  assert.equal(grown.numbers.length, exact.numbers.length, 'the batch is as long as what was written, not as its room');
  assert.equal(grown.numbers.buffer.byteLength, grown.numbers.byteLength, 'its buffer holds the batch and nothing more');
  assert.deepEqual(unpackBatch(structuredClone(grown, { transfer: [...grown.buffers, grown.numbers.buffer as ArrayBuffer] })), unpackBatch(exact));
  assert.deepEqual(unpackBatch(exact), events);
});

test('bodies are copied when a call is packed: the call may let go of its buffers at once', () => {
  const r = record(1);
  const packer = new BatchPacker();
  packer.end(r);
  r.requests[0]!.data.fill(0); // a pool slice used again by the forwarding thread
  const got = (unpackBatch(packer.finish())[0] as { end: CallRecord }).end;
  assert.equal(got.requests[0]!.data.toString(), 'req-1');
});

test('calls whose header lists hold the same pairs (HPACK table entries) unpack to their own headers, whatever changed between them', () => {
  const ct: Header = ['content-type', 'application/grpc'];
  const ua: Header = ['user-agent', 'kubelet'];
  const ok: Header = ['grpc-status', '0'];
  const other: Header = ['grpc-status', '5'];
  const lists: Array<{ md: Header[]; trailers: Header[] }> = [
    { md: [ct, ua], trailers: [ok] },
    { md: [ct, ua], trailers: [ok] }, // the very same pairs: numbers copied
    { md: [ua, ct], trailers: [other] }, // same pairs, other order; another trailer
    { md: [ct, ['user-agent', 'kubelet']], trailers: [ok] }, // an equal pair that is not the same object
    { md: [ct], trailers: [ok, ['grpc-message', 'x']] }, // shorter and longer lists
    { md: [ct, ua], trailers: [ok] },
  ];
  const packer = new BatchPacker({}, 8, 8); // room grows between the lists it copies from
  const calls = lists.map(({ md, trailers }, i) => ({ ...record(i), requestMetadata: md, responseHeaders: [ct], responseTrailers: trailers }));
  for (const call of calls) packer.end(call);
  const out = unpackBatch(structuredClone(packer.finish()));
  assert.deepEqual(
    out.map((e) => (e as { end: CallRecord }).end),
    calls,
  );
});
