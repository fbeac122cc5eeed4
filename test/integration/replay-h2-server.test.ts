/**
 * Replay's own HTTP/2 gRPC server against real clients: grpc-js (what kubelet-side Node code and
 * the tests use) and node:http2 (for frames grpc-js will not send: PING, a lying length prefix,
 * a socket-path :authority, a grpc-timeout without a local deadline). Handlers here are small
 * real ones; the replay logic itself is covered by the other replay-*.test.ts files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { FrameReader } from '../../src/wire/frames.js';
import { encodeHeaderBlock, frame, headersFrames, settingsFrame } from '../../src/wire/frame-writer.js';
import { Flag, FrameType, PREFACE } from '../../src/wire/h2.js';
import { HpackDecoder } from '../../src/wire/hpack.js';
import { silentLogger } from '../../src/log.js';
import { startGrpcServer, type CallHandler, type GrpcServer, type ServerCall } from '../../src/replay/h2/server.js';
import { rawClient, streamCall, tempSocketPath, unaryCall } from '../support/fake-upstream.js';

const MiB = 1024 * 1024;

async function serve(t: { after(fn: () => unknown): void }, handler: CallHandler, extra: { prefaceTimeoutMs?: number; maxRequestBytes?: number } = {}): Promise<{ server: GrpcServer; endpoint: string; path: string }> {
  const path = tempSocketPath('h2');
  const server = await startGrpcServer({ listen: { kind: 'unix', path }, handler, logger: silentLogger, ...extra });
  t.after(() => server.close(0));
  return { server, endpoint: `unix://${path}`, path };
}

function client(t: { after(fn: () => unknown): void }, endpoint: string): grpc.Client {
  const c = rawClient(endpoint);
  t.after(() => c.close());
  return c;
}

function grpcFrame(body: Buffer, claimedLength = body.length): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(claimedLength, 1);
  body.copy(out, 5);
  return out;
}

function h2session(t: { after(fn: () => unknown): void }, path: string): http2.ClientHttp2Session {
  const s = http2.connect('http://localhost', { createConnection: () => net.connect(path) });
  s.on('error', () => {});
  t.after(() => s.destroy());
  return s;
}

/** The error code of the GOAWAY among server→client bytes, if one came. */
function goawayCode(bytes: Buffer): number | undefined {
  let code: number | undefined;
  const ignore = () => {};
  new FrameReader({ headers: ignore, data: ignore, dataEnd: ignore, rstStream: ignore, settings: ignore, goaway: (_last, c) => (code = c) }, { preface: false }).push(bytes);
  return code;
}

interface RawAnswer {
  headers: http2.IncomingHttpHeaders;
  trailers?: http2.IncomingHttpHeaders;
  body: Buffer;
}

function rawCall(session: http2.ClientHttp2Session, path: string, body: Buffer, extra: http2.OutgoingHttpHeaders = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    const chunks: Buffer[] = [];
    const a: RawAnswer = { headers: {}, body: Buffer.alloc(0) };
    req.on('response', (h) => (a.headers = h));
    req.on('trailers', (h) => (a.trailers = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('close', () => {
      a.body = Buffer.concat(chunks);
      resolve(a);
    });
    req.end(body);
  });
}

test('unary: request in, headers, message, status with percent-encoded message and trailers out', async (t) => {
  const seen: ServerCall[] = [];
  const { endpoint } = await serve(t, (call) => {
    seen.push(call);
    call.sendHeaders([['x-answer', 'yes']]);
    call.sendMessage(Buffer.from([...call.request].reverse()));
    call.end({ code: 0, message: '' }, [['x-trailer', 'done']]);
  });
  const c = client(t, endpoint);
  const md = new grpc.Metadata();
  md.set('x-who', 'test');
  const r = await unaryCall(c, '/runtime.v1.RuntimeService/Version', Buffer.from('abc'), md);
  assert.equal(r.status?.code, 0);
  assert.deepEqual(r.response, Buffer.from('cba'));
  assert.deepEqual(r.headers?.get('x-answer'), ['yes']);
  assert.deepEqual(r.status?.metadata.get('x-trailer'), ['done']);
  assert.equal(seen[0]!.path, '/runtime.v1.RuntimeService/Version');
  assert.ok(seen[0]!.metadata.some(([k, v]) => k === 'x-who' && v === 'test'));

  const { endpoint: failing } = await serve(t, (call) => call.end({ code: 5, message: 'pod "é" not found: 100%', details: Buffer.from([8, 5]) }));
  const e = await unaryCall(client(t, failing), '/x.Y/Z', Buffer.alloc(0));
  assert.equal(e.error?.code, 5);
  assert.equal(e.error?.details, 'pod "é" not found: 100%');
  assert.deepEqual(e.status?.metadata.get('grpc-status-details-bin'), [Buffer.from([8, 5])]);
});

test('server stream: every message in order, then the status', async (t) => {
  const { endpoint } = await serve(t, (call) => {
    for (let i = 0; i < 50; i++) call.sendMessage(Buffer.from(`event ${i}`));
    call.end({ code: 0, message: '' });
  });
  const got: string[] = [];
  const status = await new Promise<grpc.StatusObject>((resolve) => {
    const s = streamCall(client(t, endpoint), '/runtime.v1.RuntimeService/GetContainerEvents', Buffer.alloc(0));
    s.on('data', (b: Buffer) => got.push(b.toString()));
    s.on('status', resolve);
    s.on('error', () => {});
  });
  assert.equal(status.code, 0);
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `event ${i}`));
});

test('a 64 MiB answer and an 8 MiB request pass through flow control to a grpc-js client', async (t) => {
  const answer = Buffer.alloc(64 * MiB);
  for (let i = 0; i < answer.length; i += 4096) answer[i] = i & 0xff;
  let requestLength = 0;
  const { endpoint } = await serve(t, (call) => {
    requestLength = call.request.length;
    call.sendMessage(answer);
    call.end({ code: 0, message: '' });
  });
  const request = Buffer.alloc(8 * MiB, 9); // over the 4 MiB stream window: needs our WINDOW_UPDATEs
  const r = await unaryCall(client(t, endpoint), '/x.Y/Big', request);
  assert.equal(r.status?.code, 0);
  assert.equal(requestLength, request.length);
  assert.equal(r.response?.length, answer.length);
  const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  assert.equal(digest(r.response!), digest(answer));
});

test('200 concurrent calls on one connection each get their own answer', async (t) => {
  const pending: ServerCall[] = [];
  const { server, endpoint } = await serve(t, (call) => {
    // Held until all 200 are open at once, then answered together.
    pending.push(call);
    if (pending.length === 200) for (const p of pending) { p.sendMessage(p.request); p.end({ code: 0, message: '' }); }
  });
  const c = client(t, endpoint);
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => unaryCall(c, '/x.Y/Echo', Buffer.from(`call ${i}`))));
  results.forEach((r, i) => assert.equal(r.response?.toString(), `call ${i}`));
  assert.equal(server.connections(), 1);
});

test('client cancel: the handler sees the call end and its signal abort; nothing more is sent', async (t) => {
  let resolveAborted: () => void = () => {};
  const aborted = new Promise<void>((r) => (resolveAborted = r));
  let held: ServerCall | undefined;
  const { endpoint } = await serve(t, (call) => {
    held = call;
    call.sendMessage(Buffer.from('first'));
    call.signal.addEventListener('abort', () => resolveAborted());
  });
  const got: string[] = [];
  const code = await new Promise<number>((resolve) => {
    const s = streamCall(client(t, endpoint), '/x.Y/Events', Buffer.alloc(0));
    s.on('data', (b: Buffer) => {
      got.push(b.toString());
      s.cancel();
    });
    s.on('error', (e: grpc.ServiceError) => resolve(e.code));
  });
  assert.equal(code, grpc.status.CANCELLED);
  await aborted;
  assert.equal(held!.closed, true);
  held!.sendMessage(Buffer.from('late')); // a no-op on a closed call, never an exception
  held!.end({ code: 0, message: '' });
  assert.deepEqual(got, ['first']);
});

test('PING is answered with PING ACK; an old-client :authority is accepted', async (t) => {
  const { path } = await serve(t, (call) => {
    call.sendMessage(Buffer.from(call.authority ?? 'none'));
    call.end({ code: 0, message: '' });
  });
  const session = h2session(t, path);
  await once(session, 'remoteSettings'); // the server's SETTINGS arrived: its preface is right
  const payload = Buffer.from('critap!!');
  const echoed = await new Promise<Buffer>((resolve, reject) => session.ping(payload, (err, _ms, p) => (err ? reject(err) : resolve(p))));
  assert.deepEqual(echoed, payload);
  const a = await rawCall(session, '/x.Y/Who', grpcFrame(Buffer.alloc(0)), { ':authority': '/run/containerd/containerd.sock' });
  assert.equal(a.trailers?.['grpc-status'], '0');
  assert.deepEqual(a.body, grpcFrame(Buffer.from('/run/containerd/containerd.sock')));
});

test('a request claiming a 2 GiB message is answered RESOURCE_EXHAUSTED without being read', async (t) => {
  let called = false;
  const { path } = await serve(t, () => (called = true));
  const session = h2session(t, path);
  const a = await new Promise<RawAnswer>((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/x.Y/Huge', 'content-type': 'application/grpc' });
    const out: RawAnswer = { headers: {}, body: Buffer.alloc(0) };
    req.on('response', (h) => (out.headers = h));
    req.on('error', reject);
    req.on('close', () => resolve(out));
    req.resume();
    req.write(grpcFrame(Buffer.alloc(1000), 2 ** 31)); // and never the rest
  });
  assert.equal(a.headers['grpc-status'], '8');
  assert.match(String(a.headers['grpc-message']), /request message of 2147483648 bytes is larger than/);
  assert.equal(called, false);
});

test('grpc-timeout is parsed into the call deadline', async (t) => {
  let deadlineIn: number | undefined;
  const { path } = await serve(t, (call) => {
    deadlineIn = call.deadline === undefined ? undefined : call.deadline - performance.now();
    call.end({ code: 0, message: '' });
  });
  await rawCall(h2session(t, path), '/x.Y/T', grpcFrame(Buffer.alloc(0)), { 'grpc-timeout': '5S' });
  assert.ok(deadlineIn !== undefined && deadlineIn > 4000 && deadlineIn <= 5000, `deadline in ${deadlineIn} ms`);
});

test('bad bytes close that connection only; a connection without a preface times out', async (t) => {
  const { endpoint, path } = await serve(t, (call) => {
    call.sendMessage(Buffer.from('ok'));
    call.end({ code: 0, message: '' });
  }, { prefaceTimeoutMs: 200 });
  const closedAfter = (bytes: Buffer | undefined) =>
    new Promise<Buffer>((resolve) => {
      const got: Buffer[] = [];
      const s = net.connect(path, () => bytes && s.write(bytes));
      s.on('data', (c: Buffer) => got.push(c));
      s.on('error', () => {});
      s.on('close', () => resolve(Buffer.concat(got)));
    });
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
  const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  // Not HTTP/2 at all; a frame header claiming a HEADERS frame on stream 0; an undecodable header block.
  await closedAfter(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  const stream0 = await closedAfter(Buffer.concat([preface, settings, Buffer.from([0, 0, 1, 1, 4, 0, 0, 0, 0, 0x82])]));
  assert.equal(goawayCode(stream0), 1, 'GOAWAY PROTOCOL_ERROR before the close');
  const badBlock = await closedAfter(Buffer.concat([preface, settings, Buffer.from([0, 0, 2, 1, 4, 0, 0, 0, 1, 0xff, 0xff])]));
  assert.equal(goawayCode(badBlock), 9, 'GOAWAY COMPRESSION_ERROR before the close');
  const started = performance.now();
  await closedAfter(undefined); // silent client
  assert.ok(performance.now() - started >= 150, 'closed by the preface timeout, not at once');
  const r = await unaryCall(client(t, endpoint), '/x.Y/Z', Buffer.alloc(0));
  assert.equal(r.response?.toString(), 'ok', 'the server still serves');
});

test('request bodies: whole in one DATA frame, split over several, two messages, too large, END_STREAM on an empty frame', async (t) => {
  const { path } = await serve(t, (call) => {
    call.sendMessage(call.request);
    call.end({ code: 0, message: '' });
  }, { maxRequestBytes: 50 });
  const socket = net.connect(path);
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  const block = (p: string) => encodeHeaderBlock([[':method', 'POST'], [':scheme', 'http'], [':path', p], [':authority', 'x'], ['content-type', 'application/grpc']]);
  const out: Buffer[] = [PREFACE, settingsFrame()];
  const open = (id: number) => out.push(...headersFrames(id, block('/x.Y/Echo'), false));
  const data = (id: number, bytes: Buffer, end: boolean) => out.push(frame(FrameType.DATA, end ? Flag.END_STREAM : 0, id, bytes));
  const split = grpcFrame(Buffer.from('a request in three DATA frames'));
  open(1);
  data(1, grpcFrame(Buffer.from('whole')), true);
  open(3);
  data(3, split.subarray(0, 2), false);
  data(3, split.subarray(2, 8), false);
  data(3, split.subarray(8), true);
  open(5);
  data(5, Buffer.concat([grpcFrame(Buffer.from('one')), grpcFrame(Buffer.from('two'))]), true);
  open(7);
  data(7, grpcFrame(Buffer.alloc(100, 1)), true);
  open(9);
  data(9, grpcFrame(Buffer.from('then an empty END_STREAM frame')), false);
  data(9, Buffer.alloc(0), true);
  socket.write(Buffer.concat(out));

  const decoder = new HpackDecoder();
  const bodies = new Map<number, Buffer[]>();
  const status = new Map<number, { code: string; message: string }>();
  const reader = new FrameReader({
    headers: (id, b) => {
      const h = new Map(decoder.decode(b));
      if (h.has('grpc-status')) status.set(id, { code: h.get('grpc-status')!, message: decodeURIComponent(h.get('grpc-message') ?? '') });
    },
    data: (id, chunk) => bodies.set(id, [...(bodies.get(id) ?? []), Buffer.from(chunk)]),
    dataEnd: () => {},
    rstStream: () => {},
    goaway: () => {},
    settings: () => {},
  }, { preface: false });
  socket.on('data', (c: Buffer) => reader.push(c));
  while (status.size < 5) await once(socket, 'data');
  const body = (id: number) => Buffer.concat(bodies.get(id) ?? []);
  assert.deepEqual(status.get(1), { code: '0', message: '' });
  assert.deepEqual(body(1), grpcFrame(Buffer.from('whole')));
  assert.deepEqual(status.get(3), { code: '0', message: '' });
  assert.deepEqual(body(3), split);
  assert.equal(status.get(5)?.code, '13');
  assert.match(status.get(5)!.message, /takes one request message, the client sent more/);
  assert.equal(status.get(7)?.code, '8');
  assert.match(status.get(7)!.message, /request message of 100 bytes is larger than the 50 accepted/);
  assert.deepEqual(status.get(9), { code: '0', message: '' });
  assert.deepEqual(body(9), grpcFrame(Buffer.from('then an empty END_STREAM frame')));
});
