/**
 * The header rewriter behind --propagate-trace, checked against a real HTTP/2 stack: node:http2
 * (nghttp2) clients send requests whose header blocks use the dynamic table and Huffman coding,
 * through a relay that rewrites the client → server direction, to an nghttp2 server that must
 * accept every block and see the client's headers (plus the edit) and bodies intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import type { Header } from '../../src/call.js';
import { FrameReader, FrameType, WireError } from '../../src/wire/frames.js';
import { HeaderRewriter } from '../../src/wire/header-rewriter.js';
import { HpackDecoder } from '../../src/wire/hpack.js';
import { frame, headersFrames } from '../../src/wire/frame-writer.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function addTraceparent(_id: number, headers: Header[]): Header[] {
  return [...headers.filter((h) => h[0] !== 'traceparent'), ['traceparent', TRACEPARENT]];
}

interface Seen {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** An nghttp2 server behind a relay whose client → server bytes go through a HeaderRewriter. */
async function rewritingPair(edit: (id: number, h: Header[]) => Header[], chunking: (b: Buffer) => Buffer[]) {
  const seen: Seen[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () => {
      seen.push({ headers, body: Buffer.concat(parts) });
      stream.respond({ ':status': 200, 'x-echo': String(headers['x-n'] ?? '') });
      stream.end(Buffer.concat(parts));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const serverPort = (server.address() as net.AddressInfo).port;
  const errors: unknown[] = [];
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const upstream = net.connect(serverPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const rewriter = new HeaderRewriter(edit, { preface: true });
    client.on('data', (chunk: Buffer) => {
      for (const piece of chunking(chunk)) {
        try {
          for (const b of rewriter.push(piece)) upstream.write(b);
        } catch (err) {
          errors.push(err);
          client.destroy();
          upstream.destroy();
        }
      }
    });
    upstream.pipe(client);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const relayPort = (relay.address() as net.AddressInfo).port;
  return {
    seen,
    errors,
    url: `http://127.0.0.1:${relayPort}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => relay.close(r));
      await new Promise((r) => server.close(r));
    },
  };
}

function request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<{ status: number; echo: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ...headers });
    const parts: Buffer[] = [];
    let status = 0;
    let echo = '';
    req.on('response', (h) => {
      status = Number(h[':status']);
      echo = String(h['x-echo'] ?? '');
    });
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve({ status, echo, body: Buffer.concat(parts) }));
    req.on('error', reject);
    req.end(body);
  });
}

/** Requests that make nghttp2 index headers, reuse them, evict them, and split a block into CONTINUATIONs. */
function workload(n: number): Array<{ headers: http2.OutgoingHttpHeaders; body: Buffer }> {
  const out: Array<{ headers: http2.OutgoingHttpHeaders; body: Buffer }> = [];
  for (let i = 0; i < n; i++) {
    const headers: http2.OutgoingHttpHeaders = {
      ':path': `/runtime.v1.RuntimeService/${i % 3 === 0 ? 'Version' : 'ListContainers'}`,
      'content-type': 'application/grpc',
      'user-agent': 'grpc-go/1.60.1',
      'x-n': String(i),
      'x-same': 'repeated-value-that-gets-indexed',
      'x-varied': `value-${i}-${'z'.repeat(i % 40)}`,
    };
    if (i % 2 === 0) headers['traceparent'] = `00-4bf92f3577b34da6a3ce929d0e0e4736-${(i + 1).toString(16).padStart(16, '0')}-01`;
    if (i === 7) headers['x-huge'] = 'h'.repeat(40_000); // > 16 KiB: HEADERS + CONTINUATION both ways
    if (i % 5 === 0) headers['x-bin-bin'] = Buffer.from([0, 1, 2, 255, i & 0xff]).toString('base64');
    out.push({ headers, body: Buffer.alloc(i * 300 + 1, i & 0xff) });
  }
  return out;
}

for (const [label, chunking] of [
  ['as read', (b: Buffer) => [b]],
  ['one byte at a time', (b: Buffer) => [...b].map((x) => Buffer.from([x]))],
  ['in 7-byte pieces', (b: Buffer) => Array.from({ length: Math.ceil(b.length / 7) }, (_, i) => b.subarray(i * 7, i * 7 + 7))],
] as const) {
  test(`nghttp2 accepts every rewritten block and sees the client's headers and bodies (${label})`, async (t) => {
    const pair = await rewritingPair(addTraceparent, chunking);
    const session = http2.connect(pair.url, { maxHeaderListPairs: 256 });
    t.after(async () => {
      session.destroy();
      await pair.close();
    });
    const reqs = workload(60);
    // Sequential first (the table fills and evicts), then a burst (interleaved frames).
    const results = [];
    for (const r of reqs.slice(0, 30)) results.push(await request(session, r.headers, r.body));
    results.push(...(await Promise.all(reqs.slice(30).map((r) => request(session, r.headers, r.body)))));
    assert.deepEqual(pair.errors, []);
    results.forEach((res, i) => {
      assert.equal(res.status, 200);
      assert.equal(res.echo, String(i));
      assert.ok(res.body.equals(reqs[i]!.body), `body of request ${i}`);
    });
    assert.equal(pair.seen.length, reqs.length);
    for (const s of pair.seen) {
      const i = Number(s.headers['x-n']);
      const sent = reqs[i]!;
      assert.equal(s.headers['traceparent'], TRACEPARENT, `request ${i} carries the edit`);
      for (const [name, value] of Object.entries(sent.headers)) {
        if (name === 'traceparent') continue;
        assert.equal(s.headers[name], value, `request ${i} header ${name}`);
      }
      assert.ok(s.body.equals(sent.body), `request ${i} body reached the server intact`);
    }
  });
}

/** Captures what an nghttp2 client writes for a few requests (the server side never answers). */
async function captureClientBytes(): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = net.createServer((s) => s.on('data', (c: Buffer) => parts.push(c)));
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const port = (sink.address() as net.AddressInfo).port;
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  for (const r of workload(12)) {
    const req = session.request({ ':method': 'POST', ...r.headers });
    req.on('error', () => {});
    req.end(r.body.subarray(0, 1000));
  }
  await new Promise((r) => setTimeout(r, 300));
  session.destroy();
  await new Promise((r) => sink.close(r));
  return Buffer.concat(parts);
}

function rewriteAll(bytes: Buffer, pieces: number[]): Buffer {
  const rw = new HeaderRewriter((_id, h) => h, { preface: true });
  const out: Buffer[] = [];
  let at = 0;
  for (const n of pieces) {
    out.push(...rw.push(bytes.subarray(at, at + n)));
    at += n;
  }
  if (at < bytes.length) out.push(...rw.push(bytes.subarray(at)));
  return Buffer.concat(out);
}

interface DecodedFrame {
  type: string;
  stream: number;
  payload: string;
}

/** Frames of one direction in order, header blocks decoded with `decoder`, DATA joined per frame. */
function framesOf(bytes: Buffer, decoder: HpackDecoder): DecodedFrame[] {
  const frames: DecodedFrame[] = [];
  const data = new Map<number, Buffer[]>();
  const reader = new FrameReader(
    {
      headers: (id, block) => frames.push({ type: 'headers', stream: id, payload: JSON.stringify(decoder.decode(block)) }),
      data: (id, chunk) => (data.get(id) ?? data.set(id, []).get(id)!).push(Buffer.from(chunk)),
      dataEnd: (id, end) => {
        frames.push({ type: 'data', stream: id, payload: `${Buffer.concat(data.get(id) ?? []).toString('hex')}${end ? ' END' : ''}` });
        data.delete(id);
      },
      rstStream: (id, code) => frames.push({ type: 'rst', stream: id, payload: String(code) }),
      goaway: (last, code) => frames.push({ type: 'goaway', stream: 0, payload: `${last}/${code}` }),
      settings: (p) => frames.push({ type: 'settings', stream: 0, payload: JSON.stringify(p) }),
      windowUpdate: (id, inc) => frames.push({ type: 'window', stream: id, payload: String(inc) }),
    },
    { preface: true },
  );
  reader.push(bytes);
  return frames;
}

test('output does not depend on how the input is cut, and uses no HPACK table on the server side', async () => {
  const bytes = await captureClientBytes();
  const whole = rewriteAll(bytes, [bytes.length]);
  for (const size of [1, 2, 8, 9, 10, 24, 25, 100, 4093]) {
    const pieces = Array.from({ length: Math.ceil(bytes.length / size) }, () => size);
    assert.ok(rewriteAll(bytes, pieces).equals(whole), `cut every ${size} bytes`);
  }
  // Same frames as the input, in the same order; header blocks decode to the same lists, the
  // rewritten ones with an HPACK table of size 0 (the server's table must never be used).
  const expected = framesOf(bytes, new HpackDecoder());
  assert.ok(expected.filter((f) => f.type === 'headers').length >= 12);
  assert.deepEqual(framesOf(whole, new HpackDecoder(0)), expected);
});

test('frames other than headers pass byte for byte', () => {
  const settings = frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 1, 0, 0, 0x10, 0]));
  const ping = frame(FrameType.PING, 0, 0, Buffer.alloc(8, 7));
  const window = frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0, 1, 0, 0]));
  const unknown = frame(0x42, 0x3, 5, Buffer.from('future frame type'));
  const padded = Buffer.concat([frame(FrameType.DATA, 0x8, 1, Buffer.from([3, 1, 2, 3, 0, 0, 0]))]);
  const input = Buffer.concat([settings, ping, window, unknown, padded]);
  const rw = new HeaderRewriter(() => assert.fail('no header block here'), { preface: false });
  assert.ok(Buffer.concat(rw.push(input)).equals(input));
});

test('a malformed header sequence is a connection error', () => {
  const block = headersFrames(1, Buffer.from([0x82]), false, 16384)[0]!;
  const noEnd = Buffer.from(block);
  noEnd[4] = 0; // HEADERS without END_HEADERS …
  const rw = new HeaderRewriter((_i, h) => h, { preface: false });
  rw.push(noEnd);
  // … followed by anything but its CONTINUATION.
  assert.throws(() => rw.push(frame(FrameType.PING, 0, 0, Buffer.alloc(8))), WireError);
  const stray = new HeaderRewriter((_i, h) => h, { preface: false });
  assert.throws(() => stray.push(frame(FrameType.CONTINUATION, 0x4, 1, Buffer.from([0x82]))), WireError);
  const huge = new HeaderRewriter((_i, h) => h, { preface: false, maxHeaderBlock: 1024 });
  const claim = Buffer.alloc(9);
  claim.writeUIntBE(1_000_000, 0, 3);
  claim[3] = FrameType.HEADERS;
  claim.writeUInt32BE(1, 5);
  assert.throws(() => huge.push(claim), /claims 1000000 bytes/);
});
