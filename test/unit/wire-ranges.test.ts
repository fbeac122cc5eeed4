/**
 * Readers that take a header block or DATA piece as (chunk, start, end) instead of a view of it
 * (FrameEvents.headersIn / dataIn, HpackDecoder ranges, MessageAssembler.push ranges) must see
 * exactly the bytes the view-taking ones see, and must never read past `end`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flag, FrameReader, FrameType, PREFACE, WireError, type FrameEvents } from '../../src/wire/frames.js';
import { encodeHeaderBlock, frame, goawayFrame, settingsFrame } from '../../src/wire/frame-writer.js';
import { HpackDecoder, HpackError } from '../../src/wire/hpack.js';
import { MessageAssembler } from '../../src/wire/grpc-messages.js';
import { OK_STATUS, statusFromTrailers } from '../../src/proxy/grpc-status.js';
import type { Header } from '../../src/call.js';

/** Every frame kind with a payload, at varied offsets within a chunk; padding and priority included. */
function sample(): Buffer {
  const rst = Buffer.alloc(4);
  rst.writeUInt32BE(8);
  return Buffer.concat([
    PREFACE,
    settingsFrame([[1, 8192], [4, 65535]]),
    frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x82, 0x84])),
    frame(FrameType.DATA, Flag.PADDED, 1, Buffer.concat([Buffer.from([3]), Buffer.from('hello'), Buffer.alloc(3, 0xee)])),
    frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from('world!')),
    frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.PADDED, 3, Buffer.from([2, 0x82, 0x86, 0xdd, 0xdd])),
    frame(FrameType.HEADERS, Flag.PRIORITY | Flag.END_HEADERS | Flag.END_STREAM, 5, Buffer.from([0, 0, 0, 0, 16, 0x83])),
    frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY | Flag.END_HEADERS, 7, Buffer.from([1, 0, 0, 0, 0, 16, 0x87, 0xcc])),
    frame(FrameType.HEADERS, 0, 9, Buffer.from([0x01, 0x02])),
    frame(FrameType.CONTINUATION, Flag.END_HEADERS, 9, Buffer.from([0x03])),
    frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0, 1, 0, 0])),
    frame(FrameType.PING, 0, 0, Buffer.alloc(8, 7)),
    frame(FrameType.RST_STREAM, 0, 9, rst),
    goawayFrame(9, 2),
  ]);
}

/**
 * Events as strings; `ranged` readers take headersIn/dataIn, the others headers/data. A DATA
 * frame's pieces are joined (a split chunk gives it in more pieces).
 */
function events(bytes: Buffer, splits: number[], ranged: boolean): string[] {
  const out: string[] = [];
  let data = '';
  const handlers: FrameEvents = {
    headers: (id, block, end) => out.push(`headers ${id} ${block.toString('hex')} ${end}`),
    dataEnd: (id, end, length) => {
      out.push(`data ${id} ${data}`, `dataEnd ${id} ${end} ${length}`);
      data = '';
    },
    rstStream: (id, code) => out.push(`rst ${id} ${code}`),
    goaway: (last, code) => out.push(`goaway ${last} ${code}`),
    settings: (params) => out.push(`settings ${JSON.stringify(params)}`),
    ping: (payload, ack) => out.push(`ping ${payload.toString('hex')} ${ack}`),
    windowUpdate: (id, inc) => out.push(`window ${id} ${inc}`),
  };
  if (ranged) {
    handlers.headersIn = (id, chunk, start, end, endStream) => {
      assert.ok(start >= 0 && start <= end && end <= chunk.length);
      out.push(`headers ${id} ${chunk.toString('hex', start, end)} ${endStream}`);
    };
    handlers.dataIn = (_id, chunk, start, end) => {
      assert.ok(start >= 0 && start < end && end <= chunk.length);
      data += chunk.toString('hex', start, end);
    };
  } else {
    handlers.data = (_id, chunk) => (data += chunk.toString('hex'));
  }
  const reader = new FrameReader(handlers, { preface: true });
  let pos = 0;
  for (const at of [...splits, bytes.length]) {
    reader.push(bytes.subarray(pos, at));
    pos = at;
  }
  return out;
}

test('headersIn/dataIn see the same bytes as headers/data, in one chunk and split at every offset', () => {
  const bytes = sample();
  const whole = events(bytes, [], false);
  assert.ok(whole.includes(`headers 7 87 false`), 'padded+priority block stripped');
  assert.ok(whole.includes(`headers 9 010203 false`), 'CONTINUATION joined');
  assert.deepEqual(events(bytes, [], true), whole);
  for (let at = 1; at < bytes.length; at++) {
    assert.deepEqual(events(bytes, [at], true), whole, `split at ${at}`);
    assert.deepEqual(events(bytes, [at], false), whole, `split at ${at}`);
  }
});

test('headersIn still rejects a HEADERS frame whose padding exceeds it', () => {
  const bad = Buffer.concat([PREFACE, frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.PADDED, 1, Buffer.from([5, 0x82]))]);
  assert.throws(() => events(bad, [], true), WireError);
});

test('HpackDecoder reads block[start…end) only: same headers as the view, and a string past end is an error', () => {
  const headers: Header[] = [[':path', '/runtime.v1.RuntimeService/Version'], ['x-long', 'v'.repeat(40)], ['grpc-timeout', '5S']];
  const block = encodeHeaderBlock(headers);
  const padded = Buffer.concat([Buffer.from([0xff, 0xff, 0xff]), block, Buffer.from([0x40, 0x01])]);
  const out: Header[] = [];
  const n = new HpackDecoder().decodeInto(padded, out, 3, 3 + block.length);
  assert.deepEqual(out.slice(0, n), headers);
  assert.equal(new HpackDecoder().skim(padded, 3, 3 + block.length), '/runtime.v1.RuntimeService/Version');
  // Cut inside the long value: the bytes that follow in the buffer must not be read as its rest.
  const cut = 3 + block.length - 10;
  assert.throws(() => new HpackDecoder().decodeInto(padded, [], 3, cut), HpackError);
  assert.throws(() => new HpackDecoder().skim(padded, 3, cut), HpackError);
});

test('MessageAssembler.push reads chunk[start…end) and counts only those bytes', () => {
  const seen: string[] = [];
  const asm = new MessageAssembler({ message: (body) => seen.push(body === null ? 'null' : body.toString()) }, true, 1024);
  const msg = Buffer.concat([Buffer.from([0, 0, 0, 0, 3]), Buffer.from('abc'), Buffer.from([0, 0, 0, 0, 2]), Buffer.from('de')]);
  const chunk = Buffer.concat([Buffer.from('junk'), msg, Buffer.from('tail')]);
  asm.push(chunk, 4, 4 + 6);
  asm.push(chunk, 4 + 6, 4 + msg.length);
  assert.deepEqual(seen, ['abc', 'de']);
  assert.equal(asm.totalBytes, msg.length);
  assert.equal(asm.partial, false);
});

test('an OK call with no message shares one frozen status; others get their own', () => {
  const ok = statusFromTrailers([['grpc-status', '0']], '200');
  assert.equal(ok, OK_STATUS);
  assert.ok(Object.isFrozen(ok));
  assert.deepEqual(ok, { code: 0, message: '' });
  assert.deepEqual(statusFromTrailers([['grpc-status', '0'], ['grpc-message', 'fine']], '200'), { code: 0, message: 'fine' });
  assert.deepEqual(statusFromTrailers([['grpc-status', '5'], ['grpc-message', 'gone']], '200'), { code: 5, message: 'gone' });
});
