/**
 * FrameReader: the observer's view of one direction of an HTTP/2 connection. The same bytes
 * must give the same events however the socket happens to split them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flag, FrameReader, FrameType, PREFACE, WireError, type FrameEvents } from '../../src/wire/frames.js';
import { frame, goawayFrame, settingsFrame } from '../../src/wire/frame-writer.js';

type Event =
  | ['headers', number, string, boolean]
  | ['data', number, string]
  | ['dataEnd', number, boolean]
  | ['rst', number, number]
  | ['goaway', number, number]
  | ['settings', Array<[number, number]>];

/** Collects events; DATA pieces of one frame are joined so different splits compare equal. */
function recorder(): { events: Event[]; handlers: FrameEvents } {
  const events: Event[] = [];
  let dataParts: Buffer[] = [];
  return {
    events,
    handlers: {
      headers: (id, block, end) => events.push(['headers', id, block.toString('hex'), end]),
      data: (_id, chunk) => dataParts.push(Buffer.from(chunk)),
      dataEnd: (id, end) => {
        events.push(['data', id, Buffer.concat(dataParts).toString('hex')]);
        dataParts = [];
        events.push(['dataEnd', id, end]);
      },
      rstStream: (id, code) => events.push(['rst', id, code]),
      goaway: (last, code) => events.push(['goaway', last, code]),
      settings: (params) => events.push(['settings', params]),
    },
  };
}

function read(bytes: Buffer, splits: number[], preface: boolean): Event[] {
  const r = recorder();
  const reader = new FrameReader(r.handlers, { preface });
  let pos = 0;
  for (const at of [...splits, bytes.length]) {
    reader.push(bytes.subarray(pos, at));
    pos = at;
  }
  return r.events;
}

/** Deterministic pseudo-random numbers, so a failing split can be reproduced. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function rstFrame(id: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, id, p);
}

/** A client connection with every frame kind the reader handles, padding and CONTINUATION included. */
function sampleClientBytes(): Buffer {
  const paddedData = Buffer.concat([Buffer.from([3]), Buffer.from('hello'), Buffer.alloc(3, 0xee)]);
  const paddedHeaders = Buffer.concat([Buffer.from([2]), Buffer.from([0x82, 0x86]), Buffer.alloc(2, 0xdd)]);
  const prioHeaders = Buffer.concat([Buffer.from([0, 0, 0, 0, 16]), Buffer.from([0x83])]);
  return Buffer.concat([
    PREFACE,
    settingsFrame([[1, 8192], [4, 65535]]),
    frame(FrameType.SETTINGS, Flag.ACK, 0),
    frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0, 1, 0, 0])),
    frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x82, 0x84])),
    frame(FrameType.DATA, Flag.PADDED, 1, paddedData),
    frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from('world!')),
    frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.PADDED, 3, paddedHeaders),
    frame(FrameType.HEADERS, Flag.PRIORITY | Flag.END_HEADERS | Flag.END_STREAM, 5, prioHeaders),
    frame(FrameType.HEADERS, 0, 7, Buffer.from([0x01, 0x02])),
    frame(FrameType.CONTINUATION, 0, 7, Buffer.from([0x03])),
    frame(FrameType.CONTINUATION, Flag.END_HEADERS, 7, Buffer.from([0x04, 0x05])),
    frame(FrameType.PING, 0, 0, Buffer.alloc(8, 7)),
    frame(FrameType.DATA, 0, 7, Buffer.alloc(0)),
    frame(FrameType.DATA, Flag.PADDED, 7, Buffer.from([4, 0, 0, 0, 0])), // all padding, no payload
    rstFrame(7, 8),
    frame(0xfa, 0, 0, Buffer.from('unknown frame type is skipped')),
    goawayFrame(7, 0),
  ]);
}

const EXPECTED: Event[] = [
  ['settings', [[1, 8192], [4, 65535]]],
  ['headers', 1, '8284', false],
  ['data', 1, Buffer.from('hello').toString('hex')],
  ['dataEnd', 1, false],
  ['data', 1, Buffer.from('world!').toString('hex')],
  ['dataEnd', 1, true],
  ['headers', 3, '8286', false],
  ['headers', 5, '83', true],
  ['headers', 7, '0102030405', false],
  ['data', 7, ''],
  ['dataEnd', 7, false],
  ['data', 7, ''],
  ['dataEnd', 7, false],
  ['rst', 7, 8],
  ['goaway', 7, 0],
];

test('frames in one chunk: padding stripped, priority skipped, CONTINUATIONs joined', () => {
  assert.deepEqual(read(sampleClientBytes(), [], true), EXPECTED);
});

test('the same bytes fed one byte at a time give the same events', () => {
  const bytes = sampleClientBytes();
  const splits = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
  assert.deepEqual(read(bytes, splits, true), EXPECTED);
});

test('the same bytes in random splits give the same events', () => {
  const bytes = sampleClientBytes();
  const rand = lcg(42);
  for (let round = 0; round < 200; round++) {
    const cuts = new Set<number>();
    const n = 1 + Math.floor(rand() * 12);
    for (let i = 0; i < n; i++) cuts.add(1 + Math.floor(rand() * (bytes.length - 1)));
    const splits = [...cuts].sort((a, b) => a - b);
    assert.deepEqual(read(bytes, splits, true), EXPECTED, `splits ${splits.join(',')}`);
  }
});

test('DATA payload is handed out as it arrives, never including padding', () => {
  const payload = Buffer.from('0123456789');
  const bytes = frame(FrameType.DATA, Flag.PADDED, 1, Buffer.concat([Buffer.from([5]), payload, Buffer.alloc(5, 0xff)]));
  const pieces: string[] = [];
  const reader = new FrameReader(
    { ...recorder().handlers, data: (_id, chunk) => pieces.push(chunk.toString()) },
    { preface: false },
  );
  // Header + pad length + 4 payload bytes, then the rest: the first 4 bytes come out before the frame ends.
  reader.push(bytes.subarray(0, 14));
  assert.deepEqual(pieces, ['0123']);
  reader.push(bytes.subarray(14));
  assert.deepEqual(pieces, ['0123', '456789']);
});

test('atFrameBoundary is false inside a frame or a header block, true between frames', () => {
  const r = new FrameReader(recorder().handlers, { preface: false });
  assert.equal(r.atFrameBoundary, true);
  const f = frame(FrameType.DATA, 0, 1, Buffer.from('abc'));
  r.push(f.subarray(0, 4));
  assert.equal(r.atFrameBoundary, false);
  r.push(f.subarray(4, 10));
  assert.equal(r.atFrameBoundary, false);
  r.push(f.subarray(10));
  assert.equal(r.atFrameBoundary, true);
  r.push(frame(FrameType.HEADERS, 0, 3, Buffer.from([0x82])));
  assert.equal(r.atFrameBoundary, false, 'a header block waiting for CONTINUATION');
  r.push(frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, Buffer.from([0x84])));
  assert.equal(r.atFrameBoundary, true);
});

test('a bad connection preface is an error, even when it arrives byte by byte', () => {
  const r = new FrameReader(recorder().handlers, { preface: true });
  assert.throws(() => r.push(Buffer.from('GET / HTTP/1.1\r\n')), WireError);
  const r2 = new FrameReader(recorder().handlers, { preface: true });
  const bad = Buffer.from(PREFACE);
  bad[10] = 0x41;
  for (let i = 0; i < 10; i++) r2.push(bad.subarray(i, i + 1));
  assert.throws(() => r2.push(bad.subarray(10, 11)), /bad connection preface/);
});

test('DATA on stream 0 is an error', () => {
  const r = new FrameReader(recorder().handlers, { preface: false });
  assert.throws(() => r.push(frame(FrameType.DATA, 0, 0, Buffer.from('x'))), /DATA frame on stream 0/);
});

test('HEADERS on stream 0 is an error', () => {
  const r = new FrameReader(recorder().handlers, { preface: false });
  assert.throws(() => r.push(frame(FrameType.HEADERS, Flag.END_HEADERS, 0, Buffer.from([0x82]))), /HEADERS frame on stream 0/);
});

test('CONTINUATION without a HEADERS before it is an error', () => {
  const r = new FrameReader(recorder().handlers, { preface: false });
  assert.throws(() => r.push(frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.from([0x82]))), /unexpected CONTINUATION/);
});

test('CONTINUATION on another stream than its HEADERS is an error', () => {
  const r = new FrameReader(recorder().handlers, { preface: false });
  r.push(frame(FrameType.HEADERS, 0, 1, Buffer.from([0x82])));
  assert.throws(() => r.push(frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, Buffer.from([0x84]))), /unexpected CONTINUATION/);
});

test('another frame between HEADERS and its CONTINUATION is an error', () => {
  const r = new FrameReader(recorder().handlers, { preface: false });
  r.push(frame(FrameType.HEADERS, 0, 1, Buffer.from([0x82])));
  assert.throws(() => r.push(frame(FrameType.DATA, 0, 1, Buffer.from('x'))), /expected CONTINUATION/);
});

test('DATA padding longer than the frame is an error', () => {
  const r = new FrameReader(recorder().handlers, { preface: false });
  assert.throws(() => r.push(frame(FrameType.DATA, Flag.PADDED, 1, Buffer.from([9, 1, 2]))), /padding/);
});

test('HEADERS padding longer than the frame is an error', () => {
  const r = new FrameReader(recorder().handlers, { preface: false });
  assert.throws(() => r.push(frame(FrameType.HEADERS, Flag.PADDED | Flag.END_HEADERS, 1, Buffer.from([9, 1, 2]))), /padding/);
});

test('malformed control frames are errors', () => {
  const r1 = new FrameReader(recorder().handlers, { preface: false });
  assert.throws(() => r1.push(frame(FrameType.RST_STREAM, 0, 1, Buffer.alloc(3))), /RST_STREAM/);
  const r2 = new FrameReader(recorder().handlers, { preface: false });
  assert.throws(() => r2.push(frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(4))), /GOAWAY/);
  const r3 = new FrameReader(recorder().handlers, { preface: false });
  assert.throws(() => r3.push(frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5))), /SETTINGS/);
});

test('a header block over the cap is an error, not a buffer', () => {
  const r = new FrameReader(recorder().handlers, { preface: false, maxHeaderBlock: 100 });
  r.push(frame(FrameType.HEADERS, 0, 1, Buffer.alloc(60)));
  assert.throws(() => r.push(frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(60))), /header block over 100 bytes/);
  const r2 = new FrameReader(recorder().handlers, { preface: false, maxHeaderBlock: 100 });
  // Only the 9-byte header is pushed: the claim alone is refused before any payload is collected.
  const claim = frame(FrameType.HEADERS, 0, 1, Buffer.alloc(0));
  claim.writeUIntBE(200, 0, 3);
  assert.throws(() => r2.push(claim), /claims 200 bytes/);
});

test('large non-observed frames (PING, WINDOW_UPDATE, unknown) are skipped without buffering', () => {
  const r = recorder();
  const reader = new FrameReader(r.handlers, { preface: false, maxHeaderBlock: 16 });
  reader.push(frame(0xee, 0, 0, Buffer.alloc(1000)));
  reader.push(rstFrame(1, 8));
  assert.deepEqual(r.events, [['rst', 1, 8]]);
});

test('a reader without a data event reads DATA (padding checked) without handing out slices', () => {
  const r = recorder();
  const { data: _data, ...handlers } = r.handlers;
  const ends: boolean[] = [];
  const reader = new FrameReader({ ...handlers, dataEnd: (_id, end) => ends.push(end) }, { preface: true });
  reader.push(sampleClientBytes());
  assert.deepEqual(ends, [false, true, false, false]);
  assert.deepEqual(r.events.filter((e) => e[0] === 'headers').map((e) => e[1]), [1, 3, 5, 7]);
  const bad = new FrameReader({ ...handlers }, { preface: false });
  assert.throws(() => bad.push(frame(FrameType.DATA, Flag.PADDED, 1, Buffer.from([9, 0]))), WireError);
});

test('a header block kept across chunks is a copy: the chunk it came in may be reused', () => {
  const r = recorder();
  const reader = new FrameReader(r.handlers, { preface: false });
  const first = Buffer.from(frame(FrameType.HEADERS, 0, 1, Buffer.from([0x82, 0x84])));
  reader.push(first);
  first.fill(0xaa); // the socket's buffer, read into again
  reader.push(frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.from([0x86])));
  assert.deepEqual(r.events, [['headers', 1, '828486', false]]);
});

test('a whole frame in one chunk is handed out as a view of it; a split one as the same bytes', () => {
  const blocks: Buffer[] = [];
  const chunk = frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x82, 0x84, 0x86]));
  const reader = new FrameReader({ ...recorder().handlers, headers: (_id, block) => blocks.push(block) }, { preface: false });
  reader.push(chunk);
  assert.equal(blocks[0]!.buffer, chunk.buffer, 'no copy');
  reader.push(chunk.subarray(0, 10));
  reader.push(chunk.subarray(10));
  assert.deepEqual(blocks.map((b) => b.toString('hex')), ['828486', '828486']);
});
