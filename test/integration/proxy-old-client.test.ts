/**
 * Old Go CRI clients send the socket path as `:authority`. grpc-js and nghttp2 servers reset
 * such streams, containerd accepts them; critap must not care either way. The upstream here is
 * a tiny raw-frame gRPC responder (like containerd, it does not judge :authority) that also
 * records every byte it received and wrote, so the test checks both that the call works and
 * that critap forwarded it byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { unlink } from 'node:fs/promises';
import { startProxy } from '../../src/proxy/proxy.js';
import { Flag, FrameReader, FrameType } from '../../src/wire/frames.js';
import { encodeHeaderBlock, frame, headersFrames, settingsFrame } from '../../src/wire/frame-writer.js';
import { tempSocketPath } from '../support/fake-upstream.js';
import { ByteRelay, CallCollector, within } from './proxy-harness.js';

const SOCKET_AUTHORITY = '/run/containerd/containerd.sock';
const VERSION = '/runtime.v1.RuntimeService/Version';
/** A VersionResponse: version "0.1.0", runtime_name "containerd". */
const VERSION_RESPONSE = Buffer.from([0x0a, 0x05, ...Buffer.from('0.1.0'), 0x12, 0x0a, ...Buffer.from('containerd')]);

interface Responder {
  path: string;
  received: Buffer[];
  written: Buffer[];
  close(): Promise<void>;
}

/** Answers every stream with one VersionResponse once the request has ended. */
async function startRawResponder(path: string): Promise<Responder> {
  const received: Buffer[] = [];
  const written: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    const write = (b: Buffer) => {
      written.push(b);
      sock.write(b);
    };
    const answer = (id: number) => {
      const message = Buffer.alloc(5 + VERSION_RESPONSE.length);
      message.writeUInt32BE(VERSION_RESPONSE.length, 1);
      VERSION_RESPONSE.copy(message, 5);
      for (const f of headersFrames(id, encodeHeaderBlock([[':status', '200'], ['content-type', 'application/grpc']]), false)) write(f);
      write(frame(FrameType.DATA, 0, id, message));
      for (const f of headersFrames(id, encodeHeaderBlock([['grpc-status', '0'], ['grpc-message', '']]), true)) write(f);
    };
    const reader = new FrameReader(
      {
        headers: (id, _block, endStream) => endStream && answer(id),
        data: () => {},
        dataEnd: (id, endStream) => endStream && answer(id),
        rstStream: () => {},
        goaway: () => sock.end(),
        settings: () => write(frame(FrameType.SETTINGS, Flag.ACK, 0)),
      },
      { preface: true },
    );
    write(settingsFrame());
    sock.on('data', (b) => {
      received.push(Buffer.from(b));
      reader.push(b);
    });
  });
  await new Promise<void>((r) => server.listen({ path }, r));
  return {
    path,
    received,
    written,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await unlink(path).catch(() => {});
    },
  };
}

test('an old client sending the socket path as :authority is forwarded byte for byte and answered', async (t) => {
  const upstream = await startRawResponder(tempSocketPath('containerd-like'));
  const sink = new CallCollector();
  const proxy = await startProxy({ listen: tempSocketPath('proxy'), upstream: `unix://${upstream.path}`, sinks: [sink], peerLookup: false });
  const relay = await ByteRelay.start(new URL(proxy.endpoint).pathname);
  t.after(async () => {
    await proxy.close(200);
    await relay.close();
    await upstream.close();
  });

  const session = http2.connect('http://localhost', { createConnection: () => net.connect({ path: relay.path }) });
  session.on('error', () => {});
  t.after(() => session.destroy());
  const req = session.request({
    ':method': 'POST',
    ':scheme': 'http',
    ':path': VERSION,
    ':authority': SOCKET_AUTHORITY,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  const got = new Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const body: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (b: Buffer) => body.push(b));
    req.on('end', () => resolve({ headers, body: Buffer.concat(body), trailers }));
    req.on('error', reject);
  });
  req.end(Buffer.alloc(5)); // an empty VersionRequest with its 5-byte gRPC prefix
  const res = await within(got, 5000, 'the answer through critap');
  session.close();

  assert.equal(res.headers[':status'], 200);
  assert.equal(res.trailers['grpc-status'], '0');
  assert.equal(res.body.readUInt32BE(1), VERSION_RESPONSE.length);
  assert.deepEqual(res.body.subarray(5), VERSION_RESPONSE);

  await within(relay.connections[0]!.closed, 5000, 'the client connection to close');
  // What the runtime received is exactly what the client sent, and vice versa.
  assert.ok(Buffer.concat(upstream.received).equals(relay.bytes(0, 'toServer')), 'runtime got the client bytes unchanged');
  assert.ok(Buffer.concat(upstream.written).equals(relay.bytes(0, 'toClient')), 'client got the runtime bytes unchanged');

  const [c] = await sink.waitFor(1);
  assert.equal(c!.method, VERSION);
  assert.equal(c!.authority, SOCKET_AUTHORITY);
  assert.equal(c!.status.code, 0);
  assert.equal(c!.end, 'trailers');
  assert.deepEqual(c!.requests.map((m) => m.data.length), [0]);
  assert.deepEqual(c!.responses.map((m) => m.data), [VERSION_RESPONSE]);
});
