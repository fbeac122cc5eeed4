/**
 * The frames critap writes itself must be valid HTTP/2 that the observer (and real peers)
 * decode back to what was meant, without touching any HPACK dynamic table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Header } from '../../src/call.js';
import { Flag, FrameReader, FrameType } from '../../src/wire/frames.js';
import { HpackDecoder } from '../../src/wire/hpack.js';
import {
  decodeGrpcMessage,
  encodeGrpcMessage,
  encodeHeaderBlock,
  frame,
  goawayFrame,
  grpcErrorFrames,
  headersFrames,
  settingsFrame,
} from '../../src/wire/frame-writer.js';
import { statusFromTrailers } from '../../src/proxy/grpc-status.js';

test('encodeHeaderBlock decodes back to the same headers with the HPACK decoder', () => {
  const headers: Header[] = [
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-status', '14'],
    ['x-empty', ''],
    ['x-long', 'v'.repeat(300)], // lengths above the 7-bit prefix need continuation bytes
    ['n'.repeat(200), 'x'],
    ['grpc-status-details-bin', Buffer.from([0, 255, 1, 2]).toString('base64')],
  ];
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(encodeHeaderBlock(headers)), headers);
});

test('encoded blocks never add to the dynamic table: a decoder mid-connection is left unchanged', () => {
  // A peer's encoder has indexed a header; critap's splice must not shift its indices.
  const d = new HpackDecoder();
  // Literal with incremental indexing, new name "x-a" = "1".
  const indexed = Buffer.from([0x40, 3, ...Buffer.from('x-a'), 1, ...Buffer.from('1')]);
  assert.deepEqual(d.decode(indexed), [['x-a', '1']]);
  d.decode(encodeHeaderBlock([['grpc-status', '0'], ['grpc-message', 'ok']]));
  // Index 62 must still be the peer's entry.
  assert.deepEqual(d.decode(Buffer.from([0x80 | 62])), [['x-a', '1']]);
});

test('grpc-message percent encoding round trip, non-ASCII and % included', () => {
  for (const text of ['plain text stays', 'héllo wörld ✓ 日本語', '100% sure', 'tab\tand\nnewline', '', '%41 is not A']) {
    const wire = encodeGrpcMessage(text);
    assert.match(wire, /^[\x20-\x7e]*$/, 'only printable ASCII on the wire');
    assert.equal(decodeGrpcMessage(wire), text);
  }
  assert.equal(encodeGrpcMessage('a%b é'), 'a%25b %C3%A9');
  assert.equal(encodeGrpcMessage('plain'), 'plain');
});

test('decodeGrpcMessage keeps text that is not valid percent encoding', () => {
  assert.equal(decodeGrpcMessage('50%'), '50%');
  assert.equal(decodeGrpcMessage('%zz'), '%zz');
  assert.equal(decodeGrpcMessage('%C3%A9'), 'é');
});

test('frame() writes the 9-byte header correctly', () => {
  const f = frame(FrameType.RST_STREAM, 0, 0x7fffffff, Buffer.from([0, 0, 0, 8]));
  assert.equal(f.length, 13);
  assert.equal(f.readUIntBE(0, 3), 4);
  assert.equal(f[3], FrameType.RST_STREAM);
  assert.equal(f[4], 0);
  assert.equal(f.readUInt32BE(5), 0x7fffffff);
});

/** Runs frames through the observer's reader + HPACK decoder. */
function observe(frames: Buffer[]) {
  const out: Array<{ id: number; headers: Header[]; end: boolean }> = [];
  const settings: Array<Array<[number, number]>> = [];
  const goaways: Array<[number, number]> = [];
  const d = new HpackDecoder();
  const r = new FrameReader(
    {
      headers: (id, block, end) => out.push({ id, headers: d.decode(block), end }),
      data: () => {},
      dataEnd: () => {},
      rstStream: () => {},
      goaway: (last, code) => goaways.push([last, code]),
      settings: (p) => settings.push(p),
    },
    { preface: false },
  );
  for (const f of frames) r.push(f);
  return { out, settings, goaways };
}

test('headersFrames splits a large block into HEADERS + CONTINUATION that join back', () => {
  const headers: Header[] = [['x-big', 'y'.repeat(40_000)]];
  const frames = headersFrames(5, encodeHeaderBlock(headers), true, 16384);
  assert.equal(frames.length, 3);
  assert.equal(frames[0]![3], FrameType.HEADERS);
  assert.equal(frames[0]![4], Flag.END_STREAM, 'END_STREAM on the first frame, END_HEADERS on the last');
  assert.equal(frames[1]![3], FrameType.CONTINUATION);
  assert.equal(frames[2]![4], Flag.END_HEADERS);
  assert.deepEqual(observe(frames).out, [{ id: 5, headers, end: true }]);
});

test('grpcErrorFrames: trailers-only answer before headers, plain trailers after', () => {
  const message = 'critap: runtime unix:///run/x.sock is unavailable: ENOENT — retry';
  const before = observe(grpcErrorFrames(3, 14, message, false)).out;
  assert.equal(before.length, 1);
  assert.equal(before[0]!.id, 3);
  assert.equal(before[0]!.end, true);
  assert.deepEqual(before[0]!.headers.slice(0, 2), [[':status', '200'], ['content-type', 'application/grpc']]);
  assert.deepEqual(statusFromTrailers(before[0]!.headers, '200'), { code: 14, message });

  const after = observe(grpcErrorFrames(9, 1, 'gone', true)).out;
  assert.deepEqual(after, [{ id: 9, headers: [['grpc-status', '1'], ['grpc-message', 'gone']], end: true }]);
});

test('settingsFrame and goawayFrame decode back', () => {
  const seen = observe([settingsFrame([[3, 100], [4, 1 << 20]]), settingsFrame(), goawayFrame(41, 2)]);
  assert.deepEqual(seen.settings, [[[3, 100], [4, 1 << 20]], []]);
  assert.deepEqual(seen.goaways, [[41, 2]]);
});
