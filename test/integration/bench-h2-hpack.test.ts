/**
 * The cheap h2 load client's header blocks, decoded by the project's HPACK decoder as a server
 * would: the first call fills the dynamic table, later calls name the same headers by index,
 * and a server that asks for a smaller table gets a size update and literals from then on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Header } from '../../src/call.js';
import { encodeHeaderBlock, frame, headersFrames, settingsFrame } from '../../src/wire/frame-writer.js';
import { FrameReader } from '../../src/wire/frames.js';
import { Flag, FrameType } from '../../src/wire/h2.js';
import { HpackDecoder } from '../../src/wire/hpack.js';
import { H2LoadConnection, type CallAnswer } from '../../bench/h2-load/connection.js';
import { CallTemplate, Setting, type FramesTemplate } from '../../bench/h2-load/request-frames.js';
import { tempSocketPath } from '../support/fake-upstream.js';

const PATH = '/runtime.v1.RuntimeService/Version';

function blockOf(f: FramesTemplate, id = 1): Buffer {
  const bytes = Buffer.alloc(f.length);
  f.writeInto(bytes, 0, id);
  let block: Buffer | undefined;
  new FrameReader(
    { headers: (_id, b) => (block = Buffer.from(b)), data() {}, dataEnd() {}, rstStream() {}, goaway() {}, settings() {} },
    { preface: false },
  ).push(bytes);
  assert.ok(block, 'the template holds a header block');
  return block;
}

test('the first call indexes its headers; later calls are indexed fields the decoder resolves to the same headers', () => {
  const t = new CallTemplate(PATH, Buffer.from([0x0a, 0x02, 0x76, 0x31]), { 'x-critap-bench-events': '10' });
  const decoder = new HpackDecoder();
  const first = decoder.decode(blockOf(t.indexing));
  assert.deepEqual(first.find(([k]) => k === ':path'), [':path', PATH]);
  assert.deepEqual(first.find(([k]) => k === 'x-critap-bench-events'), ['x-critap-bench-events', '10']);
  assert.equal(decoder.tableSize, t.tableSize);
  const indexed = blockOf(t.indexed, 7);
  assert.equal(indexed.length, first.length, 'one octet per header');
  assert.deepEqual(decoder.decode(indexed), first);
  assert.deepEqual(decoder.decode(blockOf(t.indexed, 9)), first);
  assert.deepEqual(new HpackDecoder().decode(blockOf(t.literal)), first, 'literals need no table');
});

interface Seen {
  headers: Header[];
  tableAfter: number;
  startsWithSizeUpdate: boolean;
  /** Decoded after the client acknowledged the server's SETTINGS. */
  afterAck: boolean;
}

/**
 * A minimal gRPC server written with the project's frame reader and HPACK decoder: it announces
 * `tableSize` for its HPACK table, checks each request block against it, and answers OK.
 */
function tinyServer(tableSize: number, seen: Seen[]): Promise<{ endpoint: string; close(): void }> {
  const path = tempSocketPath('tiny-h2');
  const server = net.createServer((socket) => {
    const decoder = new HpackDecoder();
    let acked = false;
    const reader = new FrameReader(
      {
        headers(id, block) {
          const startsWithSizeUpdate = (block[0]! & 0xe0) === 0x20;
          const headers = decoder.decode(block);
          seen.push({ headers, tableAfter: decoder.tableSize, startsWithSizeUpdate, afterAck: acked });
          const answer = Buffer.from([0, 0, 0, 0, 2, 0x0a, 0x00]);
          socket.write(Buffer.concat([
            ...headersFrames(id, encodeHeaderBlock([[':status', '200'], ['content-type', 'application/grpc']]), false),
            frame(FrameType.DATA, 0, id, answer),
            ...headersFrames(id, encodeHeaderBlock([['grpc-status', '0']]), true),
          ]));
        },
        data() {},
        dataEnd() {},
        rstStream() {},
        goaway() {},
        settings() {
          socket.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
        },
        // Blocks after the client's ACK follow the smaller table (RFC 7541 §4.2).
        settingsAck: () => {
          acked = true;
          decoder.setMaxTableSize(tableSize);
        },
      },
      { preface: true },
    );
    socket.on('data', (b: Buffer) => reader.push(b));
    socket.on('error', () => {});
    socket.write(settingsFrame([[Setting.HEADER_TABLE_SIZE, tableSize]]));
  });
  return new Promise((resolve) => server.listen(path, () => resolve({ endpoint: `unix://${path}`, close: () => server.close() })));
}

const callOnce = (conn: H2LoadConnection, t: CallTemplate) =>
  new Promise<CallAnswer>((resolve, reject) => conn.call(t, true, (err, a) => (err ? reject(err) : resolve(a!))));

test('a server that asks for an HPACK table of 0 gets a size update, then literals only', async () => {
  const seen: Seen[] = [];
  const server = await tinyServer(0, seen);
  const conn = await H2LoadConnection.connect(server.endpoint);
  try {
    const t = new CallTemplate(PATH, Buffer.from([0x0a, 0x02, 0x76, 0x31]));
    const first = await callOnce(conn, t);
    assert.deepEqual(first.firstBody, Buffer.from([0x0a, 0x00]));
    for (let i = 0; i < 3; i++) await callOnce(conn, t);
    assert.equal(seen.length, 4);
    // The first call may go out before or after the server's SETTINGS reach the client.
    const later = seen.filter((s) => s.afterAck);
    assert.ok(later.length >= 3, 'the answer to the first call follows the SETTINGS, so the later calls follow the ACK');
    assert.ok(later[0]!.startsWithSizeUpdate, 'the first block after the ACK starts with a table size update');
    for (const s of later) {
      assert.equal(s.tableAfter, 0, 'nothing is added to a table of 0');
      assert.deepEqual(s.headers, seen[0]!.headers);
    }
  } finally {
    conn.close();
    server.close();
  }
});
