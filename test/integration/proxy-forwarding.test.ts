/**
 * Everything a client and a runtime say to each other must arrive unchanged through critap,
 * and the sink must see each call as it was: bytes, metadata, headers, trailers, status,
 * deadlines, cancellation, concurrency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { startProxy } from '../../src/proxy/proxy.js';
import { rawClient, startFakeUpstream, streamCall, tempSocketPath, unaryCall, type StreamHandler, type UnaryHandler } from '../support/fake-upstream.js';
import { ByteRelay, CallCollector, startSetup, within } from './proxy-harness.js';

const VERSION = '/runtime.v1.RuntimeService/Version';
const V1ALPHA2 = '/runtime.v1alpha2.RuntimeService/Version';
const FUTURE = '/runtime.v9.FutureService/NewMethod';
const EVENTS = '/runtime.v1.RuntimeService/GetContainerEvents';

/** Answers with a fixed marker followed by the request, so every byte of both directions matters. */
const echo: UnaryHandler = (call, cb) => cb(null, Buffer.concat([Buffer.from([0xee, 0x00]), call.request]));

/** Streams `count` messages, each a byte pattern derived from the request. */
const countStream: StreamHandler = (call) => {
  const n = call.request[0] ?? 3;
  for (let i = 0; i < n; i++) call.write(Buffer.concat([Buffer.from([i]), call.request]));
  call.end();
};

function collectStream(stream: grpc.ClientReadableStream<Buffer>): Promise<{ messages: Buffer[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const messages: Buffer[] = [];
    stream.on('data', (m: Buffer) => messages.push(m));
    stream.on('error', (error: grpc.ServiceError) => resolve({ messages, error }));
    stream.on('end', () => resolve({ messages }));
  });
}

test('every byte is forwarded unchanged, in both directions: unary, server stream, unknown and v1alpha2 paths', async (t) => {
  const up = await startFakeUpstream({ unary: { [VERSION]: echo, [V1ALPHA2]: echo, [FUTURE]: echo }, stream: { [EVENTS]: countStream } });
  // client → relayIn → critap → relayOut → runtime: both relays record the bytes of their hop.
  const relayOut = await ByteRelay.start(up.socketPath);
  const sink = new CallCollector();
  const proxy = await startProxy({ listen: tempSocketPath('proxy'), upstream: `unix://${relayOut.path}`, sinks: [sink], peerLookup: false });
  const relayIn = await ByteRelay.start(new URL(proxy.endpoint).pathname);
  const client = rawClient(`unix://${relayIn.path}`);
  t.after(async () => {
    client.close();
    await proxy.close(200);
    await relayIn.close();
    await relayOut.close();
    await up.close();
  });

  const requests = { [VERSION]: randomBytes(300), [V1ALPHA2]: randomBytes(40), [FUTURE]: randomBytes(5000) };
  for (const [path, req] of Object.entries(requests)) {
    const r = await unaryCall(client, path, req);
    assert.equal(r.error, undefined, `${path}: ${r.error?.message}`);
    assert.deepEqual(r.response, Buffer.concat([Buffer.from([0xee, 0x00]), req]), path);
  }
  const streamReq = Buffer.concat([Buffer.from([5]), randomBytes(100)]);
  const s = await collectStream(streamCall(client, EVENTS, streamReq));
  assert.equal(s.error, undefined);
  assert.deepEqual(s.messages, [0, 1, 2, 3, 4].map((i) => Buffer.concat([Buffer.from([i]), streamReq])));

  client.close();
  await within(Promise.all([relayIn.connections[0]!.closed, relayOut.connections[0]!.closed]), 5000, 'connections to close');
  assert.equal(relayIn.connections.length, 1, 'one client connection');
  assert.equal(relayOut.connections.length, 1, 'paired with exactly one runtime connection');
  const clientSent = relayIn.bytes(0, 'toServer');
  const clientGot = relayIn.bytes(0, 'toClient');
  assert.ok(clientSent.length > 5000 && clientGot.length > 5000);
  assert.ok(relayOut.bytes(0, 'toServer').equals(clientSent), 'runtime received exactly the bytes the client sent');
  assert.ok(relayOut.bytes(0, 'toClient').equals(clientGot), 'client received exactly the bytes the runtime sent');

  const calls = await sink.waitFor(4);
  for (const [path, req] of Object.entries(requests)) {
    const c = sink.only(path);
    assert.equal(c.status.code, 0);
    assert.equal(c.end, 'trailers');
    assert.deepEqual(c.requests.map((m) => m.data), [req]);
    assert.deepEqual(c.responses.map((m) => m.data), [Buffer.concat([Buffer.from([0xee, 0x00]), req])]);
    assert.equal(c.requestBytes, req.length + 5);
    assert.equal(c.responseBytes, req.length + 2 + 5);
  }
  const ev = sink.only(EVENTS);
  assert.equal(ev.responses.length, 5);
  assert.deepEqual(ev.responses[4]!.data, Buffer.concat([Buffer.from([4]), streamReq]));
  assert.equal(calls.length, 4);
});

test('request metadata, response headers and trailers are preserved end to end and recorded', async (t) => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const binValue = Buffer.from([0, 1, 2, 0xfe, 0xff]);
  const respBin = Buffer.from([9, 8, 7]);
  let seen: grpc.Metadata | undefined;
  const s = await startSetup(t, {
    unary: {
      [VERSION]: (call, cb) => {
        seen = call.metadata;
        const headers = new grpc.Metadata();
        headers.set('x-resp-header', 'h-value');
        headers.set('x-resp-bin', respBin);
        call.sendMetadata(headers);
        const trailers = new grpc.Metadata();
        trailers.set('x-trailer', 't-value');
        cb(null, Buffer.from('ok'), trailers);
      },
    },
  });
  const md = new grpc.Metadata();
  md.set('x-foo', 'bar baz');
  md.set('traceparent', traceparent);
  md.set('x-data-bin', binValue);
  const r = await unaryCall(s.client(), VERSION, Buffer.from('q'), md);
  assert.equal(r.error, undefined);

  assert.deepEqual(seen?.get('x-foo'), ['bar baz']);
  assert.deepEqual(seen?.get('traceparent'), [traceparent]);
  assert.deepEqual(seen?.get('x-data-bin'), [binValue]);
  assert.deepEqual(r.headers?.get('x-resp-header'), ['h-value']);
  assert.deepEqual(r.headers?.get('x-resp-bin'), [respBin]);
  assert.deepEqual(r.status?.metadata.get('x-trailer'), ['t-value']);

  const [c] = await s.sink.waitFor(1);
  const header = (list: Array<[string, string]>, name: string) => list.find((h) => h[0] === name)?.[1];
  assert.equal(c!.method, VERSION);
  assert.equal(c!.end, 'trailers');
  assert.equal(c!.status.code, 0);
  assert.equal(header(c!.requestMetadata, 'x-foo'), 'bar baz');
  assert.equal(header(c!.requestMetadata, 'traceparent'), traceparent);
  assert.deepEqual(Buffer.from(header(c!.requestMetadata, 'x-data-bin')!, 'base64'), binValue, '-bin kept as base64 text');
  assert.equal(header(c!.requestMetadata, 'te'), undefined, 'hop-by-hop te is not call metadata');
  assert.ok(c!.requestMetadata.every(([n]) => !n.startsWith(':')), 'no pseudo-headers in metadata');
  assert.equal(header(c!.responseHeaders, 'x-resp-header'), 'h-value');
  assert.deepEqual(Buffer.from(header(c!.responseHeaders, 'x-resp-bin')!, 'base64'), respBin);
  assert.equal(header(c!.responseTrailers, 'x-trailer'), 't-value');
  assert.equal(header(c!.responseTrailers, 'grpc-status'), '0');
  assert.deepEqual(c!.responses.map((m) => m.data.toString()), ['ok']);
  await s.close();
});

test('error status: code, non-ASCII message and grpc-status-details-bin arrive equal and are recorded', async (t) => {
  const message = 'container «nginx» n’existe pas ✓ 100% sûr';
  const details = Buffer.from([0x08, 0x09, 0x12, 0x03, 0x61, 0x62, 0x63, 0x00, 0xff]);
  const s = await startSetup(t, {
    unary: {
      [VERSION]: (_call, cb) => {
        const md = new grpc.Metadata();
        md.set('grpc-status-details-bin', details);
        cb({ code: grpc.status.FAILED_PRECONDITION, details: message, metadata: md } as grpc.ServerErrorResponse);
      },
    },
  });
  const r = await unaryCall(s.client(), VERSION, Buffer.alloc(0));
  assert.equal(r.error?.code, grpc.status.FAILED_PRECONDITION);
  assert.equal(r.error?.details, message);
  assert.deepEqual(r.error?.metadata.get('grpc-status-details-bin'), [details]);

  const [c] = await s.sink.waitFor(1);
  assert.equal(c!.status.code, 9);
  assert.equal(c!.status.message, message);
  assert.deepEqual(c!.status.details, details);
  assert.equal(c!.end, 'trailers');
  const wire = c!.responseTrailers.find((h) => h[0] === 'grpc-message')?.[1] ?? '';
  assert.match(wire, /^[\x20-\x7e]+$/, 'grpc-message is percent-encoded ASCII on the wire');
  assert.ok(wire.includes('%'));
  await s.close();
});

test('deadline: a 200 ms client deadline against a slow handler ends DEADLINE_EXCEEDED on both sides', async (t) => {
  let deadline: grpc.Deadline | undefined;
  let sawCancel!: () => void;
  const cancelled = new Promise<void>((r) => (sawCancel = r));
  const s = await startSetup(t, {
    unary: {
      [VERSION]: (call) => {
        deadline = call.getDeadline();
        call.on('cancelled', () => sawCancel());
        // Never answers: the deadline must end the call.
      },
    },
  });
  const r = await unaryCall(s.client(), VERSION, Buffer.from('slow'), new grpc.Metadata(), { deadline: Date.now() + 200 });
  assert.equal(r.error?.code, grpc.status.DEADLINE_EXCEEDED);
  assert.ok(deadline !== undefined && deadline !== Infinity, 'the runtime saw the deadline (grpc-timeout forwarded)');
  const d = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  assert.ok(d > Date.now() - 60_000 && d < Date.now() + 60_000, `deadline ${d} is a real point in time`);
  await within(cancelled, 5000, 'the runtime handler to see the call cancelled');

  const [c] = await s.sink.waitFor(1);
  assert.equal(c!.method, VERSION);
  assert.equal(c!.status.code, grpc.status.DEADLINE_EXCEEDED);
  assert.ok(c!.end === 'client-reset' || c!.end === 'trailers', `end ${c!.end}`);
  assert.ok(c!.requestMetadata.some(([n]) => n === 'grpc-timeout'));
  assert.deepEqual(c!.requests.map((m) => m.data.toString()), ['slow']);
  await s.close();
});

test('client cancel reaches the runtime; the call is recorded as cancelled by the client', async (t) => {
  let sawCancel!: () => void;
  const cancelled = new Promise<void>((r) => (sawCancel = r));
  const s = await startSetup(t, {
    stream: {
      [EVENTS]: (call) => {
        call.on('cancelled', () => sawCancel());
        call.write(Buffer.from('first event'));
        // Keeps the stream open, as a real event stream does.
      },
    },
  });
  const stream = streamCall(s.client(), EVENTS, Buffer.alloc(0));
  const done = collectStream(stream);
  await within(new Promise((r) => stream.once('data', r)), 5000, 'the first event');
  stream.cancel();
  const result = await done;
  assert.equal(result.error?.code, grpc.status.CANCELLED);
  await within(cancelled, 5000, 'the runtime to see the cancellation');

  const [c] = await s.sink.waitFor(1);
  assert.equal(c!.method, EVENTS);
  assert.equal(c!.end, 'client-reset');
  assert.equal(c!.status.code, grpc.status.CANCELLED);
  assert.deepEqual(c!.responses.map((m) => m.data.toString()), ['first event']);
  await s.close();
});

test('a runtime error mid-stream reaches the client after the messages before it', async (t) => {
  const s = await startSetup(t, {
    stream: {
      [EVENTS]: (call) => {
        call.write(Buffer.from('one'));
        call.write(Buffer.from('two'));
        call.emit('error', { code: grpc.status.INTERNAL, details: 'disk on fire' });
      },
    },
  });
  const result = await collectStream(streamCall(s.client(), EVENTS, Buffer.alloc(0)));
  assert.deepEqual(result.messages.map(String), ['one', 'two']);
  assert.equal(result.error?.code, grpc.status.INTERNAL);
  assert.equal(result.error?.details, 'disk on fire');

  const [c] = await s.sink.waitFor(1);
  assert.equal(c!.status.code, grpc.status.INTERNAL);
  assert.equal(c!.status.message, 'disk on fire');
  assert.equal(c!.end, 'trailers');
  assert.deepEqual(c!.responses.map((m) => m.data.toString()), ['one', 'two']);
  await s.close();
});

test('200 concurrent calls on one client connection each get their own answer and record', async (t) => {
  const s = await startSetup(t, { unary: { [VERSION]: echo } });
  const client = s.client();
  const requests = Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.from(`call-${i}:`), randomBytes(i * 7)]));
  const results = await Promise.all(requests.map((req) => unaryCall(client, VERSION, req)));
  results.forEach((r, i) => {
    assert.equal(r.error, undefined, `call ${i}: ${r.error?.message}`);
    assert.deepEqual(r.response, Buffer.concat([Buffer.from([0xee, 0x00]), requests[i]!]), `call ${i}`);
  });
  const calls = await s.sink.waitFor(200);
  assert.equal(calls.length, 200);
  const byRequest = new Map(calls.map((c) => [c.requests[0]!.data.toString('hex'), c]));
  for (const req of requests) {
    const c = byRequest.get(req.toString('hex'));
    assert.ok(c, 'every request recorded once');
    assert.equal(c.status.code, 0);
    assert.deepEqual(c.responses[0]!.data, Buffer.concat([Buffer.from([0xee, 0x00]), req]));
  }
  assert.equal(s.proxy.stats().acceptedConnections, 1, 'all on one connection');
  await s.close();
});

test('5 clients on separate connections at once', async (t) => {
  const s = await startSetup(t, { unary: { [VERSION]: echo } });
  // A local subchannel pool gives each client its own connection (grpc-js shares them otherwise).
  const clients = Array.from({ length: 5 }, () => s.client({ 'grpc.use_local_subchannel_pool': 1 }));
  const runs = clients.map(async (client, ci) => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => unaryCall(client, VERSION, Buffer.from(`c${ci}-${i}`))));
    rs.forEach((r, i) => assert.equal(r.response?.subarray(2).toString(), `c${ci}-${i}`));
  });
  await Promise.all(runs);
  const calls = await s.sink.waitFor(100);
  assert.equal(new Set(calls.map((c) => c.requests[0]!.data.toString())).size, 100);
  assert.ok(calls.every((c) => c.status.code === 0 && c.end === 'trailers'));
  assert.equal(s.proxy.stats().acceptedConnections, 5);
  await s.close();
});
