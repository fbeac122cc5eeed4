import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Header } from '../../src/call.js';
import { AuthorityFront, fixAuthority, isValidAuthority } from '../../src/replay/authority-front.js';
import { Flag, FrameReader, FrameType, PREFACE } from '../../src/wire/frames.js';
import { frame, settingsFrame } from '../../src/wire/frame-writer.js';
import { HpackDecoder } from '../../src/wire/hpack.js';

/** HPACK "literal with incremental indexing, new name": the kind of block that fills the dynamic table. */
function indexedLiteral(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  assert.ok(n.length < 127 && v.length < 127);
  return Buffer.concat([Buffer.from([0x40, n.length]), n, Buffer.from([v.length]), v]);
}

/** HPACK indexed field (index < 127). */
function indexed(i: number): Buffer {
  return Buffer.from([0x80 | i]);
}

const OLD_AUTHORITY = '/run/containerd/containerd.sock';

/**
 * A client's bytes: preface, SETTINGS, a first request whose headers are added to the dynamic
 * table, a DATA frame, a padded HEADERS + CONTINUATION second request that refers to the
 * first one's entries by index, a PING, and its DATA.
 */
function clientBytes(): { bytes: Buffer; data1: Buffer; data2: Buffer; ping: Buffer } {
  const block1 = Buffer.concat([
    indexed(3), // :method POST
    indexed(6), // :scheme http
    indexedLiteral(':path', '/runtime.v1.RuntimeService/Version'),
    indexedLiteral(':authority', OLD_AUTHORITY),
    indexedLiteral('content-type', 'application/grpc'),
    indexedLiteral('x-trace', 'abc'),
  ]);
  // Dynamic table now (newest first): 62 x-trace, 63 content-type, 64 :authority, 65 :path.
  const block2 = Buffer.concat([indexed(3), indexed(6), indexed(65), indexed(64), indexed(63), indexed(62)]);
  const data1 = frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x76, 0x31]));
  const data2 = frame(FrameType.DATA, Flag.END_STREAM | Flag.PADDED, 3, Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]));
  const ping = frame(FrameType.PING, 0, 0, Buffer.from('12345678'));
  const padded = Buffer.concat([Buffer.from([3]), block2.subarray(0, 3), Buffer.alloc(3)]);
  const bytes = Buffer.concat([
    PREFACE,
    settingsFrame([[4, 65535]]),
    frame(FrameType.HEADERS, Flag.END_HEADERS, 1, block1),
    data1,
    frame(FrameType.HEADERS, Flag.PADDED, 3, padded),
    frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, block2.subarray(3)),
    ping,
    data2,
  ]);
  return { bytes, data1, data2, ping };
}

interface Parsed {
  headers: Array<{ stream: number; headers: Header[] }>;
  dataFrames: number;
}

/** What the server sees: the output parsed with the project's frame reader and a fresh HPACK decoder. */
function parseServerSide(out: Buffer): Parsed {
  const decoder = new HpackDecoder();
  const parsed: Parsed = { headers: [], dataFrames: 0 };
  const reader = new FrameReader(
    {
      headers: (stream, block) => parsed.headers.push({ stream, headers: decoder.decode(block) }),
      data: () => {},
      dataEnd: () => parsed.dataFrames++,
      rstStream: () => {},
      goaway: () => {},
      settings: () => {},
    },
    { preface: true },
  );
  reader.push(out);
  return parsed;
}

function runWithSplits(input: Buffer, cuts: number[]): Buffer {
  const front = new AuthorityFront();
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, input.length]) {
    out.push(...front.push(input.subarray(prev, c)));
    prev = c;
  }
  return Buffer.concat(out);
}

test('socket-path :authority becomes localhost; indexed references resolve; other frames pass byte for byte', () => {
  const { bytes, data1, data2, ping } = clientBytes();
  const out = runWithSplits(bytes, []);
  const parsed = parseServerSide(out);
  assert.equal(parsed.headers.length, 2);
  for (const h of parsed.headers) {
    assert.deepEqual(h.headers, [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/runtime.v1.RuntimeService/Version'],
      [':authority', 'localhost'],
      ['content-type', 'application/grpc'],
      ['x-trace', 'abc'],
    ]);
  }
  assert.deepEqual(parsed.headers.map((h) => h.stream), [1, 3]);
  assert.equal(parsed.dataFrames, 2);
  assert.ok(out.includes(data1), 'DATA frame copied unchanged');
  assert.ok(out.includes(data2), 'padded DATA frame copied unchanged');
  assert.ok(out.includes(ping), 'PING copied unchanged');
  assert.ok(out.subarray(0, PREFACE.length).equals(PREFACE));
  assert.ok(out.includes(settingsFrame([[4, 65535]])), 'SETTINGS copied unchanged');
});

test('any split of the input gives the same output', () => {
  const { bytes } = clientBytes();
  const whole = runWithSplits(bytes, []);
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 300; round++) {
    const cuts = [...new Set(Array.from({ length: 1 + rand(12) }, () => 1 + rand(bytes.length - 1)))].sort((a, b) => a - b);
    assert.ok(runWithSplits(bytes, cuts).equals(whole), `cuts ${cuts.join(',')}`);
  }
  // one byte at a time
  assert.ok(runWithSplits(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)).equals(whole));
});

test('a valid :authority is kept', () => {
  const front = new AuthorityFront();
  const block = Buffer.concat([indexed(3), indexedLiteral(':authority', 'localhost:1234'), indexedLiteral(':path', '/x')]);
  const out = Buffer.concat([...front.push(PREFACE), ...front.push(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, block))]);
  assert.deepEqual(parseServerSide(out).headers[0]!.headers, [
    [':method', 'POST'],
    [':authority', 'localhost:1234'],
    [':path', '/x'],
  ]);
});

test('bytes that are not HTTP/2 are rejected with an error, not a crash', () => {
  assert.throws(() => new AuthorityFront().push(Buffer.from('GET / HTTP/1.1\r\n\r\n')), /critap: not an HTTP\/2 client/);
  const front = new AuthorityFront();
  front.push(PREFACE);
  assert.throws(() => front.push(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))), /hpack|HPACK|index|integer/i);
  const f2 = new AuthorityFront();
  f2.push(PREFACE);
  assert.throws(() => f2.push(frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.alloc(1))), /unexpected CONTINUATION/);
  const f3 = new AuthorityFront({ maxHeaderBlock: 100 });
  f3.push(PREFACE);
  assert.throws(() => f3.push(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.alloc(200))), /header frame of 200 bytes/);
});

test('which authorities are valid', () => {
  for (const ok of ['localhost', 'localhost:0', '127.0.0.1:50051', '[::1]:80', 'my-host.example', 'unix']) assert.ok(isValidAuthority(ok), ok);
  for (const bad of ['/run/containerd/containerd.sock', 'a b', '', 'x/y', 'host:port']) assert.ok(!isValidAuthority(bad), bad);
  assert.deepEqual(fixAuthority([[':authority', '/tmp/x.sock'], ['a', '/tmp/x.sock']]), [[':authority', 'localhost'], ['a', '/tmp/x.sock']]);
});

test('a large header block is re-split into frames the server accepts', () => {
  const front = new AuthorityFront({ maxFrameSize: 16384 });
  const big = 'v'.repeat(100);
  const parts = [indexed(3)];
  for (let i = 0; i < 400; i++) parts.push(Buffer.concat([Buffer.from([0x00, 5]), Buffer.from(`x-${String(i).padStart(3, '0')}`), Buffer.from([100]), Buffer.from(big)]));
  const block = Buffer.concat(parts);
  const out = Buffer.concat([...front.push(PREFACE), ...front.push(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, block))]);
  let pos = PREFACE.length;
  let frames = 0;
  while (pos < out.length) {
    const len = out.readUIntBE(pos, 3);
    assert.ok(len <= 16384);
    pos += 9 + len;
    frames++;
  }
  assert.ok(frames >= 3);
  assert.equal(parseServerSide(out).headers[0]!.headers.length, 401);
});
