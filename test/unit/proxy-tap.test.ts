/**
 * ConnectionTap without sinks (a bare proxy) keeps only what forwarding needs: each open call's
 * stream, method and whether its answer headers went out. The same bytes with a sink give full
 * records; both read the HPACK tables the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallRecord, CallSink } from '../../src/call.js';
import { ConnectionTap } from '../../src/proxy/tap.js';
import { parseGrpcTimeout } from '../../src/proxy/grpc-status.js';
import { encodeHeaderBlock, frame, settingsFrame } from '../../src/wire/frame-writer.js';
import { Flag, FrameType, PREFACE } from '../../src/wire/h2.js';

const VERSION = '/runtime.v1.RuntimeService/Version';

function grpcMessage(body: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

/** Stream 1 enters :path into the client's table (literal with indexing); stream 3 names it by index. */
function clientBytes(): Buffer {
  const path = Buffer.from(VERSION, 'latin1');
  const first = Buffer.concat([Buffer.from([0x83, 0x44, path.length]), path, Buffer.from([0x40, 12]), Buffer.from('grpc-timeout'), Buffer.from([2]), Buffer.from('5S')]);
  const second = Buffer.from([0x83, 0xbf]); // :method POST, :path from the dynamic table (the older entry)
  return Buffer.concat([
    PREFACE,
    settingsFrame(),
    frame(FrameType.HEADERS, Flag.END_HEADERS, 1, first),
    frame(FrameType.DATA, Flag.END_STREAM, 1, grpcMessage(Buffer.from('req-1'))),
    frame(FrameType.HEADERS, Flag.END_HEADERS, 3, second),
    frame(FrameType.DATA, Flag.END_STREAM, 3, grpcMessage(Buffer.from('req-3'))),
  ]);
}

const responseHeaders = () => frame(FrameType.HEADERS, Flag.END_HEADERS, 1, encodeHeaderBlock([[':status', '200'], ['content-type', 'application/grpc']]));
const responseData = () => frame(FrameType.DATA, 0, 1, grpcMessage(Buffer.from('answer')));
const trailers = (id: number, status: string) => frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, encodeHeaderBlock([['grpc-status', status], ['grpc-message', 'x']]));

test('without sinks: open calls with their methods, answer headers seen, calls ended by trailers', () => {
  const tap = new ConnectionTap({ sinks: [], captureLimit: 1024 });
  tap.clientReader.push(clientBytes());
  assert.deepEqual(tap.openStreamIds(), [
    { id: 1, headersSent: false, method: VERSION },
    { id: 3, headersSent: false, method: VERSION },
  ]);
  tap.serverReader.push(Buffer.concat([settingsFrame(), responseHeaders(), responseData()]));
  assert.deepEqual(tap.openStreamIds()[0], { id: 1, headersSent: true, method: VERSION });
  assert.equal(tap.answered, false);
  tap.serverReader.push(trailers(1, '0'));
  assert.equal(tap.answered, true);
  // A trailers-only answer (an error) ends its call too.
  tap.serverReader.push(trailers(3, '5'));
  assert.equal(tap.openCalls, 0);
  assert.equal(tap.lastStreamId, 3);
});

test("without sinks, a connection's calls one after another: each open call has its own method, and answer headers of the call before are not its own", () => {
  const tap = new ConnectionTap({ sinks: [], captureLimit: 1024 });
  const request = (id: number, method: string) =>
    frame(FrameType.HEADERS, Flag.END_HEADERS, id, Buffer.concat([Buffer.from([0x83]), encodeHeaderBlock([[':path', method]])]));
  const answer = (id: number) => frame(FrameType.HEADERS, Flag.END_HEADERS, id, encodeHeaderBlock([[':status', '200']]));
  tap.clientReader.push(Buffer.concat([PREFACE, settingsFrame(), request(1, '/a/One')]));
  tap.serverReader.push(Buffer.concat([settingsFrame(), answer(1), trailers(1, '0')]));
  assert.equal(tap.openCalls, 0);
  tap.clientReader.push(Buffer.concat([request(3, '/a/Two'), request(5, '/a/Three')]));
  assert.deepEqual(tap.openStreamIds(), [
    { id: 3, headersSent: false, method: '/a/Two' },
    { id: 5, headersSent: false, method: '/a/Three' },
  ]);
  tap.serverReader.push(Buffer.concat([answer(3), trailers(3, '0')]));
  tap.clientReader.push(request(7, '/a/Four'));
  assert.deepEqual(tap.openStreamIds(), [
    { id: 5, headersSent: false, method: '/a/Three' },
    { id: 7, headersSent: false, method: '/a/Four' },
  ]);
  // Frames for an ended stream find no call, even though its state now serves another one.
  tap.serverReader.push(trailers(1, '0'));
  assert.equal(tap.openCalls, 2);
});

test('the same bytes with a sink give full records (methods from both tables, bodies, status, deadline)', () => {
  const ended: CallRecord[] = [];
  const sink: CallSink = { needsBodies: true, onCallEnd: (r) => ended.push(r) };
  const tap = new ConnectionTap({ sinks: [sink], captureLimit: 1024 });
  tap.clientReader.push(clientBytes());
  tap.serverReader.push(Buffer.concat([settingsFrame(), responseHeaders(), responseData(), trailers(1, '0'), trailers(3, '5')]));
  assert.deepEqual(ended.map((r) => [r.method, r.status.code, r.end]), [[VERSION, 0, 'trailers'], [VERSION, 5, 'trailers']]);
  assert.equal(ended[0]!.requests[0]!.data.toString(), 'req-1');
  assert.equal(ended[0]!.responses[0]!.data.toString(), 'answer');
  assert.deepEqual(ended[0]!.requestMetadata, [['grpc-timeout', '5S']]);
  assert.deepEqual(ended[0]!.responseHeaders, [['content-type', 'application/grpc']]);
});

test('grpc-timeout values: every unit, and anything else is no timeout', () => {
  assert.equal(parseGrpcTimeout('5S'), 5e9);
  assert.equal(parseGrpcTimeout('1H'), 3600e9);
  assert.equal(parseGrpcTimeout('2M'), 120e9);
  assert.equal(parseGrpcTimeout('250m'), 250e6);
  assert.equal(parseGrpcTimeout('7u'), 7e3);
  assert.equal(parseGrpcTimeout('99999999n'), 99999999);
  for (const bad of ['', 'S', '5', '5s', '123456789S', '-5S', '5 S', '1.5S', 'x5S']) assert.equal(parseGrpcTimeout(bad), undefined, bad);
});

test('message offsets and the duration are whole nanoseconds, in order, within the time the call took here', async () => {
  const ended: CallRecord[] = [];
  const sink: CallSink = { needsBodies: true, onCallEnd: (r) => ended.push(r) };
  const tap = new ConnectionTap({ sinks: [sink], captureLimit: 1024 });
  const before = process.hrtime.bigint();
  tap.clientReader.push(clientBytes());
  await new Promise((r) => setTimeout(r, 5));
  tap.serverReader.push(Buffer.concat([settingsFrame(), responseHeaders(), responseData(), trailers(1, '0')]));
  const took = Number(process.hrtime.bigint() - before);
  const r = ended[0]!;
  const req = r.requests[0]!.offsetNs;
  const res = r.responses[0]!.offsetNs;
  for (const ns of [req, res, r.durationNs]) assert.ok(Number.isInteger(ns) && ns >= 0, `${ns} is a whole, non-negative count of ns`);
  assert.ok(req <= res && res <= r.durationNs, `request ${req} ≤ response ${res} ≤ duration ${r.durationNs}`);
  assert.ok(res >= 4_000_000, 'the answer came after the 5 ms wait');
  assert.ok(r.durationNs <= took, 'the call took no longer than the test around it');
});

test('message lists: none (a trailers-only answer) is a list of its own; several stay in order', () => {
  const ended: CallRecord[] = [];
  const sink: CallSink = { needsBodies: true, onCallEnd: (r) => ended.push(r) };
  const tap = new ConnectionTap({ sinks: [sink], captureLimit: 1024 });
  tap.clientReader.push(clientBytes());
  const answerHeaders = frame(FrameType.HEADERS, Flag.END_HEADERS, 1, encodeHeaderBlock([[':status', '200'], ['content-type', 'application/grpc']]));
  const three = Buffer.concat(['a', 'b', 'c'].map((x) => grpcMessage(Buffer.from(x))));
  const trailersOnly = frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, encodeHeaderBlock([[':status', '200'], ['grpc-status', '5']]));
  tap.serverReader.push(Buffer.concat([settingsFrame(), answerHeaders, frame(FrameType.DATA, 0, 1, three), trailers(1, '0'), trailersOnly]));
  const [streamed, failed] = ended;
  assert.deepEqual(streamed!.responses.map((m) => m.data.toString()), ['a', 'b', 'c']);
  assert.deepEqual(failed!.responses, []);
  assert.equal(Object.isFrozen(failed!.responses), false, 'a sink may add to the lists it is handed');
  assert.notEqual(failed!.responses, streamed!.requests);
  assert.deepEqual(failed!.responseTrailers, [['grpc-status', '5']], 'pseudo-headers are left out of the trailers');
});

test("a connection's calls one after another: each record has its own metadata and messages, nothing left from the call before", () => {
  const ended: CallRecord[] = [];
  const sink: CallSink = { needsBodies: true, onCallEnd: (r) => ended.push(r) };
  const tap = new ConnectionTap({ sinks: [sink], captureLimit: 1024 });
  const path = Buffer.from(VERSION, 'latin1');
  const hop: Array<[string, string]> = [['connection', 'x'], ['keep-alive', 'x'], ['proxy-connection', 'x'], ['transfer-encoding', 'x'], ['upgrade', 'x'], ['te', 'trailers']];
  // Names as long as hop-by-hop ones, and names that only start like them, are metadata.
  const kept: Array<[string, string]> = [['tx', '1'], ['upgradx', '2'], ['connectio1', '3'], ['te-extra', '4'], ['x-transfer-encode', '5']];
  const request = (id: number, headers: Array<[string, string]>, body: Buffer) => [
    frame(FrameType.HEADERS, Flag.END_HEADERS, id, Buffer.concat([Buffer.from([0x83, 0x04, path.length]), path, encodeHeaderBlock(headers)])),
    frame(FrameType.DATA, Flag.END_STREAM, id, body),
  ];
  tap.clientReader.push(Buffer.concat([PREFACE, settingsFrame(), ...request(1, [...hop, ...kept], grpcMessage(Buffer.from('one')))]));
  tap.markInjected(1, { rule: 'r', action: 'delay' } as unknown as NonNullable<CallRecord['fault']>);
  tap.serverReader.push(Buffer.concat([settingsFrame(), responseHeaders(), responseData(), trailers(1, '0')]));
  // Call 3 ends cut off inside its request message (truncated); call 5 is whole again.
  tap.clientReader.push(Buffer.concat(request(3, [['a', '3']], grpcMessage(Buffer.from('three')).subarray(0, 4))));
  tap.serverReader.push(trailers(3, '13'));
  tap.clientReader.push(Buffer.concat(request(5, [['b', '5']], grpcMessage(Buffer.from('five')))));
  tap.serverReader.push(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 5, encodeHeaderBlock([[':status', '200'], ['grpc-status', '0'], ['connection', 'x']])));
  const [one, three, five] = ended;
  assert.deepEqual(one!.requestMetadata, kept);
  assert.deepEqual(one!.requests.map((m) => m.data.toString()), ['one']);
  assert.deepEqual(one!.responses.map((m) => m.data.toString()), ['answer']);
  assert.deepEqual(one!.responseHeaders, [['content-type', 'application/grpc']]);
  assert.ok(one!.fault, 'call 1 had a fault injected');
  assert.deepEqual(three!.requestMetadata, [['a', '3']]);
  assert.deepEqual(three!.requests, []);
  assert.deepEqual(three!.responseHeaders, []);
  assert.equal(three!.truncated, true);
  assert.equal(three!.fault, undefined);
  assert.equal(three!.status.code, 13);
  assert.deepEqual(five!.requestMetadata, [['b', '5']]);
  assert.deepEqual(five!.requests.map((m) => m.data.toString()), ['five']);
  assert.equal(five!.requestBytes, 9);
  assert.equal(five!.truncated, undefined);
  assert.equal(five!.fault, undefined);
  assert.deepEqual(five!.responseTrailers, [['grpc-status', '0']]);
  // The first call's lists are still its own after the calls that followed.
  assert.deepEqual(one!.requestMetadata, kept);
  assert.notEqual(one!.requests, five!.requests);
  assert.ok(startOrder(ended), 'start times in order');
});

function startOrder(records: CallRecord[]): boolean {
  return records.every((r, i) => i === 0 || r.startNs >= records[i - 1]!.startNs);
}

test('calls naming the same HPACK table entries get the same metadata; a call between them with others does not disturb it', () => {
  const ended: CallRecord[] = [];
  const sink: CallSink = { needsBodies: true, onCallEnd: (r) => ended.push(r) };
  const tap = new ConnectionTap({ sinks: [sink], captureLimit: 1024 });
  const path = Buffer.from(VERSION, 'latin1');
  // Stream 1 enters :path and grpc-timeout into the table; later streams name them (0xbf :path, 0xbe grpc-timeout).
  const first = Buffer.concat([Buffer.from([0x83, 0x44, path.length]), path, Buffer.from([0x40, 12]), Buffer.from('grpc-timeout'), Buffer.from([2]), Buffer.from('5S')]);
  const indexed = Buffer.from([0x83, 0xbf, 0xbe]);
  const other = Buffer.concat([Buffer.from([0x83, 0xbf]), encodeHeaderBlock([['x-other', 'y']])]);
  const blocks = [first, indexed, other, indexed];
  tap.clientReader.push(Buffer.concat([PREFACE, settingsFrame(), ...blocks.flatMap((b, i) => [frame(FrameType.HEADERS, Flag.END_HEADERS, 2 * i + 1, b), frame(FrameType.DATA, Flag.END_STREAM, 2 * i + 1, grpcMessage(Buffer.from('q')))])]));
  tap.serverReader.push(Buffer.concat([settingsFrame(), ...blocks.map((_, i) => trailers(2 * i + 1, '0'))]));
  assert.deepEqual(
    ended.map((r) => r.requestMetadata),
    [[['grpc-timeout', '5S']], [['grpc-timeout', '5S']], [['x-other', 'y']], [['grpc-timeout', '5S']]],
  );
  assert.deepEqual(ended.map((r) => r.responseTrailers), blocks.map(() => [['grpc-status', '0'], ['grpc-message', 'x']]));
  assert.ok(ended.every((r) => r.method === VERSION && r.requests[0]!.data.toString() === 'q'));
});

test('a header block repeated byte for byte reads as the table says now: the same after blocks that changed nothing, anew after one that added an entry', () => {
  const ended: CallRecord[] = [];
  const sink: CallSink = { needsBodies: true, onCallEnd: (r) => ended.push(r) };
  const tap = new ConnectionTap({ sinks: [sink], captureLimit: 1024 });
  const path = Buffer.from(VERSION, 'latin1');
  // :method POST and :path as a literal that is not indexed: the table changes only by x-a / grpc-status.
  const start = Buffer.concat([Buffer.from([0x83, 0x04, path.length]), path]);
  const adding = (name: string, value: string) => Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
  const newest = Buffer.from([0xbe]); // index 62: the entry added last
  const requests = [adding('x-a', '1'), newest, newest, adding('x-a', '2'), newest].map((b) => Buffer.concat([start, b]));
  const answers = [adding('grpc-status', '0'), newest, newest, adding('grpc-status', '5'), newest];
  tap.clientReader.push(Buffer.concat([PREFACE, settingsFrame()]));
  tap.serverReader.push(settingsFrame());
  requests.forEach((block, i) => {
    const id = 2 * i + 1;
    tap.clientReader.push(Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS, id, block), frame(FrameType.DATA, Flag.END_STREAM, id, grpcMessage(Buffer.from('q')))]));
    tap.serverReader.push(Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS, id, Buffer.from([0x88])), frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, answers[i]!)]));
  });
  assert.deepEqual(ended.map((r) => r.requestMetadata), [[['x-a', '1']], [['x-a', '1']], [['x-a', '1']], [['x-a', '2']], [['x-a', '2']]]);
  assert.deepEqual(ended.map((r) => r.status.code), [0, 0, 0, 5, 5]);
  assert.deepEqual(ended.map((r) => r.responseTrailers), [0, 0, 0, 5, 5].map((code) => [['grpc-status', String(code)]]));
  assert.ok(ended.every((r) => r.method === VERSION && r.responseHeaders.length === 0));
});
