/**
 * The pure parts of replay's HTTP/2 server: frame batching (OutBuffer, PendingData), flow-control
 * window accounting, SETTINGS, and the gRPC header blocks. Frames written are read back with the
 * project's FrameReader and HpackDecoder, so the bytes are checked as a peer would see them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flag, FrameReader, FrameType, type FrameEvents } from '../../src/wire/frames.js';
import { frame } from '../../src/wire/frame-writer.js';
import { HpackDecoder } from '../../src/wire/hpack.js';
import { OutBuffer, COPY_MAX } from '../../src/replay/h2/out-buffer.js';
import { PendingData } from '../../src/replay/h2/pending-data.js';
import { FlowError, grownWindow, ReceiveWindow, sendable, MAX_WINDOW } from '../../src/replay/h2/flow.js';
import { applyPeerSettings, defaultPeerSettings, Setting } from '../../src/replay/h2/settings.js';
import { encodeEnd, parseGrpcTimeout, replayableHeaders, responseHeaderBlock } from '../../src/replay/h2/grpc-wire.js';

interface Seen {
  type: string;
  stream: number;
  bytes?: Buffer;
  end?: boolean;
  frameLength?: number;
}

/** Reads server→client bytes back into frames (DATA pieces joined per frame). */
function readFrames(bytes: Buffer): Seen[] {
  const seen: Seen[] = [];
  let parts: Buffer[] = [];
  const events: FrameEvents = {
    headers: (stream, block, end) => seen.push({ type: 'headers', stream, bytes: block, end }),
    data: (_s, chunk) => parts.push(Buffer.from(chunk)),
    dataEnd: (stream, end, frameLength) => {
      seen.push({ type: 'data', stream, bytes: Buffer.concat(parts), end, frameLength });
      parts = [];
    },
    rstStream: (stream) => seen.push({ type: 'rst', stream }),
    goaway: () => seen.push({ type: 'goaway', stream: 0 }),
    settings: () => seen.push({ type: 'settings', stream: 0 }),
    ping: (payload, ack) => seen.push({ type: ack ? 'ping-ack' : 'ping', stream: 0, bytes: Buffer.from(payload) }),
    windowUpdate: (stream, inc) => seen.push({ type: 'window-update', stream, frameLength: inc }),
  };
  new FrameReader(events, { preface: false }).push(bytes);
  return seen;
}

test('OutBuffer batches many frames into one chunk; large payloads are referenced, not copied', () => {
  const out = new OutBuffer();
  for (let id = 1; id <= 99; id += 2) {
    out.headers(id, Buffer.from('hdr'), false, 16384);
    out.frame(FrameType.DATA, 0, id, Buffer.from([id]));
  }
  assert.equal(out.length, 50 * (9 + 3 + 9 + 1));
  const chunks = out.take();
  assert.equal(chunks.length, 1, 'small frames leave as a single write');
  const frames = readFrames(chunks[0]!);
  assert.equal(frames.length, 100);
  assert.deepEqual(frames[2], { type: 'headers', stream: 3, bytes: Buffer.from('hdr'), end: false });
  assert.equal(out.length, 0);

  const big = Buffer.alloc(COPY_MAX + 1, 7);
  out.frame(FrameType.DATA, 0, 1, big);
  out.frame(FrameType.DATA, 0, 3, Buffer.from('after'));
  const parts = out.take();
  assert.equal(parts.length, 3, 'header, the big payload itself, the next frame');
  assert.equal(parts[1], big, 'the very same buffer: no copy');
  const again = readFrames(Buffer.concat(parts));
  assert.deepEqual(again.map((f) => [f.stream, f.bytes!.length]), [[1, COPY_MAX + 1], [3, 5]]);
});

test('OutBuffer: chunks handed out are not overwritten by later frames', () => {
  const out = new OutBuffer();
  out.frame(FrameType.DATA, 0, 1, Buffer.from('first'));
  const [first] = out.take();
  const copy = Buffer.from(first!);
  for (let i = 0; i < 20_000; i++) out.frame(FrameType.PING, 0, 0, Buffer.alloc(8, i));
  assert.ok(first!.equals(copy));
  assert.equal(readFrames(Buffer.concat(out.take())).length, 20_000);
});

test('a header block larger than the peer MAX_FRAME_SIZE goes out as HEADERS + CONTINUATION', () => {
  const out = new OutBuffer();
  const block = Buffer.alloc(40_000, 1);
  out.headers(5, block, true, 16384);
  const raw = Buffer.concat(out.take());
  const types: number[] = [];
  const flags: number[] = [];
  for (let p = 0; p < raw.length; ) {
    const len = raw.readUIntBE(p, 3);
    assert.ok(len <= 16384);
    types.push(raw[p + 3]!);
    flags.push(raw[p + 4]!);
    p += 9 + len;
  }
  assert.deepEqual(types, [FrameType.HEADERS, FrameType.CONTINUATION, FrameType.CONTINUATION]);
  assert.deepEqual(flags, [Flag.END_STREAM, 0, Flag.END_HEADERS]);
  const [h] = readFrames(raw);
  assert.ok(h!.bytes!.equals(block), 'joined back whole');
  assert.equal(h!.end, true);
});

test('PendingData frames only what the allowance permits, each frame within MAX_FRAME_SIZE', () => {
  const q = new PendingData();
  const msgs = [Buffer.alloc(10, 1), Buffer.alloc(50_000, 2), Buffer.alloc(3, 3)];
  for (const m of msgs) q.push(m);
  assert.equal(q.length, 50_013);
  const out = new OutBuffer();
  assert.equal(q.writeFrames(out, 7, 20_000, 16384), 20_000);
  assert.equal(q.length, 30_013);
  let frames = readFrames(Buffer.concat(out.take()));
  assert.deepEqual(frames.map((f) => f.bytes!.length), [16384, 3616]);
  // The rest, with a window larger than what waits: exactly what waits is framed.
  assert.equal(q.writeFrames(out, 7, 1_000_000, 16384), 30_013);
  assert.equal(q.length, 0);
  frames = frames.concat(readFrames(Buffer.concat(out.take())));
  assert.ok(frames.every((f) => f.type === 'data' && f.stream === 7 && f.end === false));
  assert.ok(Buffer.concat(frames.map((f) => f.bytes!)).equals(Buffer.concat(msgs)), 'bytes in order, none lost');
  assert.equal(q.writeFrames(out, 7, 100, 16384), 0, 'nothing waits');
});

test('send windows: sendable is the least of both windows and what waits; updates are checked', () => {
  assert.equal(sendable(100, 50, 1000), 50);
  assert.equal(sendable(100, 500, 70), 70);
  assert.equal(sendable(-10, 500, 70), 0, 'a window driven negative by SETTINGS sends nothing');
  assert.equal(grownWindow(-10, 20, 'x'), 10);
  assert.throws(() => grownWindow(5, 0, 'stream 1'), (e: unknown) => e instanceof FlowError && e.code === 1);
  assert.throws(() => grownWindow(MAX_WINDOW, 1, 'the connection'), (e: unknown) => e instanceof FlowError && e.code === 3);
});

test('receive window: WINDOW_UPDATE once half is used, restoring it whole; an overrun is an error', () => {
  const w = new ReceiveWindow(1000);
  assert.equal(w.consume(300), 0);
  assert.equal(w.consume(199), 0);
  assert.equal(w.consume(1), 500, 'half used: grant it back');
  assert.equal(w.remaining, 1000);
  assert.equal(w.consume(1000), 1000, 'a frame filling the window is allowed and granted back');
  assert.throws(() => w.consume(1001), (e: unknown) => e instanceof FlowError && e.code === 3);
});

test('peer SETTINGS: the initial window change applies to open streams; bad values are refused', () => {
  const peer = defaultPeerSettings();
  assert.equal(applyPeerSettings(peer, [[Setting.INITIAL_WINDOW_SIZE, 1 << 20]]), (1 << 20) - 65535);
  assert.equal(applyPeerSettings(peer, [[Setting.INITIAL_WINDOW_SIZE, 1000], [Setting.MAX_FRAME_SIZE, 1 << 20], [Setting.HEADER_TABLE_SIZE, 0]]), 1000 - (1 << 20));
  assert.deepEqual(peer, { initialWindow: 1000, maxFrame: 1 << 20, headerTableSize: 0 });
  assert.throws(() => applyPeerSettings(peer, [[Setting.MAX_FRAME_SIZE, 100]]), /MAX_FRAME_SIZE 100/);
  assert.throws(() => applyPeerSettings(peer, [[Setting.INITIAL_WINDOW_SIZE, 2 ** 31]]), (e: unknown) => e instanceof FlowError && e.code === 3);
  assert.equal(applyPeerSettings(peer, [[0x99, 5]]), 0, 'unknown settings are ignored');
});

test('gRPC blocks: response headers, trailers with percent-encoded message and details, trailers-only', () => {
  const dec = new HpackDecoder();
  assert.deepEqual(dec.decode(responseHeaderBlock([['x-runtime', 'containerd'], ['content-type', 'application/grpc+proto'], ['Bad', 'x'], ['x-crlf', 'a\r\nb'], [':status', '500'], ['te', 'trailers']])), [
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['x-runtime', 'containerd'],
  ]);
  const end = encodeEnd({ code: 5, message: 'pod "web" not found: 100% ✓', details: Buffer.from([8, 5]) }, [['x-trailer', 'yes'], ['grpc-status', '0']]);
  assert.deepEqual(dec.decode(end.trailers), [
    ['grpc-status', '5'],
    ['grpc-message', 'pod "web" not found: 100%25 %E2%9C%93'],
    ['grpc-status-details-bin', 'CAU='],
    ['x-trailer', 'yes'],
  ]);
  assert.deepEqual(dec.decode(end.trailersOnly).slice(0, 3), [
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-status', '5'],
  ]);
  assert.deepEqual(dec.decode(encodeEnd({ code: 0, message: '' }).trailers), [['grpc-status', '0']], 'no empty grpc-message');
  assert.deepEqual(replayableHeaders([['x-a', ' padded'], ['x-b', 'ok']]), [['x-b', 'ok']]);
});

test('grpc-timeout values', () => {
  assert.equal(parseGrpcTimeout('1S'), 1000);
  assert.equal(parseGrpcTimeout('250m'), 250);
  assert.equal(parseGrpcTimeout('2M'), 120_000);
  assert.equal(parseGrpcTimeout('1H'), 3_600_000);
  assert.equal(parseGrpcTimeout('5000u'), 5);
  assert.equal(parseGrpcTimeout('10000000n'), 10);
  for (const bad of ['', '1', 'S', '123456789S', '1s', '-1S', '1.5S']) assert.equal(parseGrpcTimeout(bad), undefined, bad);
});

test('FrameReader hands PING and WINDOW_UPDATE to readers that ask, and checks their size', () => {
  const bytes = Buffer.concat([
    frame(FrameType.PING, 0, 0, Buffer.from('12345678')),
    frame(FrameType.PING, Flag.ACK, 0, Buffer.from('abcdefgh')),
    frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0x80, 0, 1, 0])), // reserved bit ignored
    frame(FrameType.WINDOW_UPDATE, 0, 3, Buffer.from([0, 0, 0, 9])),
  ]);
  assert.deepEqual(readFrames(bytes), [
    { type: 'ping', stream: 0, bytes: Buffer.from('12345678') },
    { type: 'ping-ack', stream: 0, bytes: Buffer.from('abcdefgh') },
    { type: 'window-update', stream: 0, frameLength: 256 },
    { type: 'window-update', stream: 3, frameLength: 9 },
  ]);
  assert.throws(() => readFrames(frame(FrameType.PING, 0, 0, Buffer.alloc(7))), /PING frame of wrong size/);
  assert.throws(() => readFrames(frame(FrameType.PING, 0, 1, Buffer.alloc(8))), /PING frame on a stream/);
  assert.throws(() => readFrames(frame(FrameType.WINDOW_UPDATE, 0, 1, Buffer.alloc(5))), /WINDOW_UPDATE frame of wrong size/);
  // A padded DATA frame counts its whole length against flow control.
  const padded = frame(FrameType.DATA, Flag.PADDED, 1, Buffer.concat([Buffer.from([3]), Buffer.from('hi'), Buffer.alloc(3)]));
  assert.deepEqual(readFrames(padded), [{ type: 'data', stream: 1, bytes: Buffer.from('hi'), end: false, frameLength: 6 }]);
});
