/**
 * HPACK decoder tests: RFC 7541 Appendix C vectors, a cross-check against Node's own
 * HTTP/2 stack (nghttp2 encodes, we decode the captured bytes and compare with what
 * nghttp2 decoded on the other end), and malformed input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { HpackDecoder, HpackError } from '../../src/wire/hpack.js';
import { HUFFMAN_CODES, HuffmanError, huffmanDecode } from '../../src/wire/huffman.js';
import type { Header } from '../../src/call.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Deterministic PRNG (mulberry32) so a failure can be reproduced. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decodes blocks in sequence with one decoder, checking headers and table size after each. */
function checkSequence(decoder: HpackDecoder, steps: Array<[block: string, headers: Header[], tableSize: number]>): void {
  steps.forEach(([block, headers, tableSize], i) => {
    assert.deepEqual(decoder.decode(hex(block)), headers, `block ${i + 1}`);
    assert.equal(decoder.tableSize, tableSize, `table size after block ${i + 1}`);
  });
}

// --- RFC 7541 Appendix C -----------------------------------------------------

test('C.2 literal header field forms', () => {
  // C.2.1 literal with indexing: enters the table (10 + 13 + 32 = 55).
  checkSequence(new HpackDecoder(), [
    ['400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572', [['custom-key', 'custom-header']], 55],
  ]);
  // C.2.2 literal without indexing, name from the static table.
  checkSequence(new HpackDecoder(), [['040c 2f73 616d 706c 652f 7061 7468', [[':path', '/sample/path']], 0]]);
  // C.2.3 literal never indexed.
  checkSequence(new HpackDecoder(), [['1008 7061 7373 776f 7264 0673 6563 7265 74', [['password', 'secret']], 0]]);
  // C.2.4 indexed, static table.
  checkSequence(new HpackDecoder(), [['82', [[':method', 'GET']], 0]]);
});

const REQ1: Header[] = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
const REQ2: Header[] = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: Header[] = [
  [':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];

test('C.3 requests without Huffman coding', () => {
  checkSequence(new HpackDecoder(), [
    ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', REQ1, 57],
    ['8286 84be 5808 6e6f 2d63 6163 6865', REQ2, 110],
    ['8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65', REQ3, 164],
  ]);
});

test('C.4 requests with Huffman coding', () => {
  checkSequence(new HpackDecoder(), [
    ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', REQ1, 57],
    ['8286 84be 5886 a8eb 1064 9cbf', REQ2, 110],
    ['8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf', REQ3, 164],
  ]);
});

const RESP1: Header[] = [
  [':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
  ['location', 'https://www.example.com'],
];
const RESP2: Header[] = [[':status', '307'], ...RESP1.slice(1)];
const RESP3: Header[] = [
  [':status', '200'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
  ['location', 'https://www.example.com'], ['content-encoding', 'gzip'],
  ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
];

test('C.5 responses without Huffman coding, evicting at table size 256', () => {
  // The encoder's side set SETTINGS_HEADER_TABLE_SIZE 256 and signalled it.
  const decoder = new HpackDecoder(256);
  assert.deepEqual(decoder.decode(hex('3fe1 01')), []); // size update to 256 (§6.3), no fields
  checkSequence(decoder, [
    ['4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d' +
      '546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', RESP1, 222],
    // :status 307 enters, :status 302 is evicted.
    ['4803 3330 37c1 c0bf', RESP2, 222],
    // Three entries enter; everything but the new ones is evicted.
    ['88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f' +
      '6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630' +
      '303b 2076 6572 7369 6f6e 3d31', RESP3, 215],
  ]);
});

test('C.6 responses with Huffman coding, evicting at table size 256', () => {
  const decoder = new HpackDecoder(256);
  checkSequence(decoder, [
    // The size update may also lead the first real block.
    ['3fe1 01 4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718' +
      '63c7 8f0b 97c8 e9ae 82ae 43d3', RESP1, 222],
    ['4883 640e ffc1 c0bf', RESP2, 222],
    ['88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335' +
      'dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07', RESP3, 215],
  ]);
});

// --- Huffman table -------------------------------------------------------------

/** Test-side encoder over the exported code table (MSB-first, padded with ones). */
function huffmanEncode(bytes: Buffer): Buffer {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    const [code, len] = HUFFMAN_CODES[b]!;
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** i) % 2);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Buffer.from(out);
}

test('Huffman code table matches RFC 7541 Appendix B and is complete', () => {
  assert.equal(HUFFMAN_CODES.length, 257);
  // A complete prefix code: Kraft sum exactly 1 (exact in binary floating point).
  assert.equal(HUFFMAN_CODES.reduce((sum, [, len]) => sum + 2 ** -len, 0), 1);
  // Spot checks from Appendix B, across every code length.
  const expected: Array<[number, number, number]> = [
    [0, 0x1ff8, 13], [1, 0x7fffd8, 23], [9, 0xffffea, 24], [10, 0x3ffffffc, 30], [13, 0x3ffffffd, 30],
    [22, 0x3ffffffe, 30], [31, 0xffffffb, 28], [32, 0x14, 6], [33, 0x3f8, 10], [35, 0xffa, 12], [39, 0x7fa, 11],
    [48, 0x0, 5], [58, 0x5c, 7], [60, 0x7ffc, 15], [88, 0xfc, 8], [92, 0x7fff0, 19], [94, 0x3ffc, 14],
    [116, 0x9, 5], [126, 0x1ffd, 13], [127, 0xffffffc, 28], [128, 0xfffe6, 20], [153, 0x1fffdc, 21],
    [199, 0x1ffffec, 25], [192, 0x3ffffe0, 26], [203, 0x7ffffde, 27], [220, 0xffffffd, 28],
    [254, 0x7fffff0, 27], [255, 0x3ffffee, 26], [256, 0x3fffffff, 30],
  ];
  for (const [sym, code, len] of expected) {
    assert.deepEqual(HUFFMAN_CODES[sym], [code, len], `symbol ${sym}`);
  }
});

test('huffmanDecode round-trips every byte value and honours start/end', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.equal(huffmanDecode(huffmanEncode(all), 0, huffmanEncode(all).length), all.toString('latin1'));
  const next = rng(7);
  for (let n = 0; n < 300; n++) {
    const bytes = Buffer.from(Array.from({ length: Math.floor(next() * 40) }, () => Math.floor(next() * 256)));
    const coded = huffmanEncode(bytes);
    const framed = Buffer.concat([Buffer.from([0xaa, 0x55]), coded, Buffer.from([0x00])]);
    assert.equal(huffmanDecode(framed, 2, 2 + coded.length), bytes.toString('latin1'));
  }
  assert.equal(huffmanDecode(Buffer.alloc(0), 0, 0), '');
});

test('huffmanDecode rejects EOS, long padding and padding that is not ones', () => {
  // 'a' is 00011: pad with 111 → 0x1f is valid.
  assert.equal(huffmanDecode(Buffer.from([0x1f]), 0, 1), 'a');
  // Padding of zeros.
  assert.throws(() => huffmanDecode(Buffer.from([0x18]), 0, 1), HuffmanError);
  // 'a' + 11 bits of ones: padding longer than 7 bits.
  assert.throws(() => huffmanDecode(Buffer.from([0x1f, 0xff]), 0, 2), HuffmanError);
  // A whole byte of ones is padding longer than 7 bits too.
  assert.throws(() => huffmanDecode(Buffer.from([0xff]), 0, 1), HuffmanError);
  // EOS (30 ones) decoded explicitly.
  assert.throws(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4), /EOS/);
  assert.throws(() => huffmanDecode(Buffer.from([0x1f]), 0, 2), HuffmanError);
});

// --- cross-check against nghttp2 (node:http2) --------------------------------

const TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-!#$%&'*+.^_`|~";
const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
/** Mostly short-code characters, so nghttp2 chooses Huffman even with rare long-code bytes mixed in. */
const COMMON = 'aeiostcn0123456789-./=_';

interface Generator {
  headers(count: number): Header[];
  /** Headers with 4000-octet values: blocks that need CONTINUATION frames. */
  big(count: number): Header[];
}

function headerGenerator(seed: number): Generator {
  const next = rng(seed);
  const pick = (chars: string): string => chars[Math.floor(next() * chars.length)]!;
  const str = (len: number, chars: string): string => Array.from({ length: len }, () => pick(chars)).join('');
  const pool: Header[] = [];
  /** A value that nghttp2 accepts: no leading/trailing whitespace, bytes 0x09 and 0x20-0x7e, 0x80-0xff. */
  const value = (): string => {
    const kind = next();
    if (kind < 0.15) return `[${PRINTABLE}]`; // every printable byte
    if (kind < 0.3) {
      // Huffman-friendly text with a high byte or tab inside: exercises 19-28 bit codes.
      let s = str(20 + Math.floor(next() * 40), COMMON);
      for (let k = 0; k < 3; k++) {
        const at = 1 + Math.floor(next() * (s.length - 2));
        const special = next() < 0.1 ? '\t' : String.fromCharCode(0x80 + Math.floor(next() * 128));
        s = s.slice(0, at) + special + s.slice(at + 1);
      }
      return s;
    }
    if (kind < 0.35) return `L${str(1000 + Math.floor(next() * 4000), PRINTABLE)}L`; // long, often larger than the table
    if (kind < 0.6) return `r${str(Math.floor(next() * 30), PRINTABLE)}r`;
    return str(1 + Math.floor(next() * 12), COMMON);
  };
  return {
    headers(count) {
      const out: Header[] = [];
      for (let i = 0; i < count; i++) {
        if (pool.length > 0 && next() < 0.4) {
          // Repeat an earlier header (whole, or its name with a new value) so the dynamic table is used.
          const [name, v] = pool[Math.floor(next() * pool.length)]!;
          out.push([name, next() < 0.6 ? v : value()]);
        } else {
          const h: Header = [`x-${str(1 + Math.floor(next() * 10), TOKEN_CHARS)}`, value()];
          pool.push(h);
          out.push(h);
        }
      }
      return out;
    },
    big(count) {
      return Array.from({ length: count }, (_, i): Header => [`x-big-${i}`, `B${str(4000, PRINTABLE)}B`]);
    },
  };
}

/** Node header object from pairs; repeated names become arrays (sent as separate fields, in order). */
function toNodeHeaders(pairs: Header[], base: Record<string, string | number> = {}): http2.OutgoingHttpHeaders {
  const obj: Record<string, string | number | string[]> = { ...base };
  for (const [name, v] of pairs) {
    const prev = obj[name];
    obj[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
  }
  return obj;
}

/** Pairs from Node's rawHeaders, restricted to our x- headers, grouped by name in first-seen order. */
function xHeadersGrouped(pairs: Header[]): Header[] {
  const byName = new Map<string, string[]>();
  for (const [name, v] of pairs) {
    if (!name.startsWith('x-')) continue;
    byName.set(name, [...(byName.get(name) ?? []), v]);
  }
  return [...byName].flatMap(([name, vs]) => vs.map((v): Header => [name, v]));
}

const pairsOf = (raw: string[]): Header[] =>
  Array.from({ length: raw.length / 2 }, (_, i): Header => [raw[2 * i]!, raw[2 * i + 1]!]);

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** Splits captured bytes into complete HTTP/2 frames. */
function splitFrames(bytes: Buffer, skip: number): Frame[] {
  const frames: Frame[] = [];
  let at = skip;
  while (at + 9 <= bytes.length) {
    const length = bytes.readUIntBE(at, 3);
    if (at + 9 + length > bytes.length) break;
    frames.push({
      type: bytes[at + 3]!,
      flags: bytes[at + 4]!,
      stream: bytes.readUInt32BE(at + 5) & 0x7fffffff,
      payload: bytes.subarray(at + 9, at + 9 + length),
    });
    at += 9 + length;
  }
  return frames;
}

/** SETTINGS_HEADER_TABLE_SIZE values announced by each non-ACK SETTINGS frame (undefined when absent). */
function announcedTableSizes(frames: Frame[]): Array<number | undefined> {
  return frames
    .filter((f) => f.type === 4 && (f.flags & 1) === 0)
    .map((f) => {
      let size: number | undefined;
      for (let i = 0; i + 6 <= f.payload.length; i += 6) {
        if (f.payload.readUInt16BE(i) === 1) size = f.payload.readUInt32BE(i + 2);
      }
      return size;
    });
}

interface DecodedBlock {
  stream: number;
  headers: Header[];
  blockLength: number;
  /** How many CONTINUATION frames the block was split over. */
  continuations: number;
}

/**
 * Decodes every header block in one direction with a single decoder. `peerSizes` are the
 * table sizes the other side announced; each applies at this direction's matching SETTINGS ACK.
 */
function decodeDirection(frames: Frame[], peerSizes: Array<number | undefined>, initialMax: number): DecodedBlock[] {
  const decoder = new HpackDecoder(initialMax);
  let max = initialMax;
  const blocks: DecodedBlock[] = [];
  let pending: { stream: number; parts: Buffer[] } | undefined;
  const finish = (): void => {
    const block = Buffer.concat(pending!.parts);
    const continuations = pending!.parts.length - 1;
    blocks.push({ stream: pending!.stream, headers: decoder.decode(block), blockLength: block.length, continuations });
    assert.ok(decoder.tableSize <= max, `table size ${decoder.tableSize} exceeds ${max}`);
    pending = undefined;
  };
  for (const f of frames) {
    if (pending) assert.equal(f.type, 9, 'CONTINUATION must follow an unfinished HEADERS');
    if (f.type === 4 && f.flags & 1) {
      const size = peerSizes.shift();
      if (size !== undefined) decoder.setMaxTableSize((max = size));
    } else if (f.type === 1) {
      let start = 0;
      let end = f.payload.length;
      if (f.flags & 0x08) end -= f.payload[start++]!; // PADDED
      if (f.flags & 0x20) start += 5; // PRIORITY
      pending = { stream: f.stream, parts: [f.payload.subarray(start, end)] };
      if (f.flags & 0x04) finish();
    } else if (f.type === 9) {
      assert.ok(pending && pending.stream === f.stream, 'CONTINUATION without HEADERS');
      pending.parts.push(f.payload);
      if (f.flags & 0x04) finish();
    }
  }
  return blocks;
}

const REPEATED: Header[] = [['x-one', 'first'], ['x-two', 'second'], ['x-three', 'third'], ['x-four', 'fourth']];

interface Conversation {
  /** SETTINGS_HEADER_TABLE_SIZE each side announces at connection start (limits the peer's encoder). */
  clientTableSize?: number;
  serverTableSize?: number;
  /** Table sizes announced halfway through, to exercise size updates on a live connection. */
  midClientTableSize?: number;
  midServerTableSize?: number;
  requests: number;
  seed: number;
}

interface Expected {
  request?: Header[]; // as nghttp2 decoded it on the server
  requestSent: Header[]; // our x- headers as given to the client
  response?: Header[];
  responseSent: Header[];
  trailers?: Header[];
  trailersSent: Header[];
}

const listen = (server: net.Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

/**
 * Runs requests from an http2 client to an http2 server through a loopback relay that
 * records both directions, then decodes the recording with HpackDecoder.
 */
async function crossCheck(conv: Conversation): Promise<{ c2s: DecodedBlock[]; s2c: DecodedBlock[]; expected: Map<number, Expected> }> {
  const gen = headerGenerator(conv.seed);
  const expected = new Map<number, Expected>();
  const limits = { maxHeaderListSize: 1 << 20 };
  const server = http2.createServer({
    maxHeaderListPairs: 512,
    settings: { ...limits, ...(conv.serverTableSize === undefined ? {} : { headerTableSize: conv.serverTableSize }) },
  });
  const serverSessions: http2.ServerHttp2Session[] = [];
  server.on('session', (s) => serverSessions.push(s));
  server.on('stream', (stream: http2.ServerHttp2Stream, _headers: unknown, _flags: unknown, rawHeaders: string[]) => {
    // Stream 7 (request 3) gets a response block too big for one frame.
    const responseSent = stream.id === 7 ? gen.big(10) : gen.headers(1 + Math.floor(Number(stream.id) % 7) * 3);
    const trailersSent = gen.headers(1 + (Number(stream.id) % 4));
    const entry = expected.get(stream.id!) ?? ({} as Expected);
    expected.set(stream.id!, Object.assign(entry, { request: pairsOf(rawHeaders), responseSent, trailersSent }));
    stream.respond(toNodeHeaders(responseSent, { ':status': 200 }), { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers(toNodeHeaders(trailersSent)));
    stream.resume();
    stream.end();
  });
  const upstreamPort = await listen(server);

  const c2sChunks: Buffer[] = [];
  const s2cChunks: Buffer[] = [];
  const relaySockets: net.Socket[] = [];
  const relay = net.createServer((down) => {
    const up = net.connect(upstreamPort, '127.0.0.1');
    relaySockets.push(down, up);
    down.on('data', (d: Buffer) => (c2sChunks.push(d), up.write(d)));
    up.on('data', (d: Buffer) => (s2cChunks.push(d), down.write(d)));
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => {});
    up.on('error', () => {});
  });
  const relayPort = await listen(relay);

  const client = http2.connect(`http://127.0.0.1:${relayPort}`, {
    maxHeaderListPairs: 512,
    settings: { ...limits, ...(conv.clientTableSize === undefined ? {} : { headerTableSize: conv.clientTableSize }) },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('remoteSettings', () => resolve());
      client.once('error', reject);
    });
    const one = (i: number): Promise<void> =>
      new Promise((resolve, reject) => {
        // Request 0 carries a long, unique, Huffman-friendly value: nghttp2 must Huffman-code it.
        // Requests 1 and 2 are identical: the second must be sent as dynamic table references.
        // Request 3 is too big for one frame.
        const sent =
          i === 0 ? [['x-huffman', 'a0'.repeat(600)] as Header]
          : i === 1 || i === 2 ? REPEATED
          : i === 3 ? gen.big(10)
          : gen.headers(1 + (i % 9) * 4);
        const req = client.request(toNodeHeaders(sent, { ':path': `/cri/${i}`, ':method': 'POST' }));
        const record = (): Expected => {
          const entry = expected.get(req.id!) ?? ({} as Expected);
          expected.set(req.id!, entry);
          return entry;
        };
        req.on('response', (_h: unknown, _f: unknown, raw: string[]) => {
          record().requestSent = sent;
          record().response = pairsOf(raw);
        });
        req.on('trailers', (_h: unknown, _f: unknown, raw: string[]) => (record().trailers = pairsOf(raw)));
        req.on('error', reject);
        req.resume();
        req.on('close', () => (req.rstCode === 0 ? resolve() : reject(new Error(`stream reset ${req.rstCode}`))));
        req.end();
      });
    const half = Math.floor(conv.requests / 2);
    for (let i = 0; i < half; i += 8) {
      await Promise.all(Array.from({ length: Math.min(8, half - i) }, (_, k) => one(i + k)));
    }
    if (conv.midClientTableSize !== undefined) {
      await new Promise<void>((resolve) => client.settings({ headerTableSize: conv.midClientTableSize }, () => resolve()));
    }
    if (conv.midServerTableSize !== undefined) {
      await new Promise<void>((resolve) =>
        serverSessions[0]!.settings({ headerTableSize: conv.midServerTableSize }, () => resolve()),
      );
    }
    for (let i = half; i < conv.requests; i += 8) {
      await Promise.all(Array.from({ length: Math.min(8, conv.requests - i) }, (_, k) => one(i + k)));
    }
  } finally {
    client.destroy();
    for (const s of relaySockets) s.destroy();
    await new Promise((r) => relay.close(r));
    await new Promise((r) => server.close(r));
  }

  const c2sFrames = splitFrames(Buffer.concat(c2sChunks), 24); // skip the client preface
  const s2cFrames = splitFrames(Buffer.concat(s2cChunks), 0);
  return {
    c2s: decodeDirection(c2sFrames, announcedTableSizes(s2cFrames), 4096),
    s2c: decodeDirection(s2cFrames, announcedTableSizes(c2sFrames), 4096),
    expected,
  };
}

function assertMatches(result: Awaited<ReturnType<typeof crossCheck>>, requests: number): void {
  const { c2s, s2c, expected } = result;
  assert.equal(c2s.length, requests, 'one request header block per request');
  assert.equal(s2c.length, requests * 2, 'response headers and trailers per request');
  for (const block of c2s) {
    const exp = expected.get(block.stream);
    assert.ok(exp?.request, `no request seen by the server for stream ${block.stream}`);
    assert.deepEqual(block.headers, exp.request, `request headers of stream ${block.stream}`);
    assert.deepEqual(xHeadersGrouped(block.headers), xHeadersGrouped(exp.requestSent));
  }
  const byStream = new Map<number, DecodedBlock[]>();
  for (const block of s2c) byStream.set(block.stream, [...(byStream.get(block.stream) ?? []), block]);
  for (const [stream, [head, trail]] of byStream) {
    const exp = expected.get(stream)!;
    assert.deepEqual(head!.headers, exp.response, `response headers of stream ${stream}`);
    assert.deepEqual(trail!.headers, exp.trailers, `trailers of stream ${stream}`);
    assert.deepEqual(xHeadersGrouped(head!.headers), xHeadersGrouped(exp.responseSent));
    assert.deepEqual(xHeadersGrouped(trail!.headers), xHeadersGrouped(exp.trailersSent));
  }
  // Guard against a vacuous pass: the features under test really occurred on the wire.
  const byPath = (path: string): DecodedBlock =>
    c2s.find((b) => b.headers.some(([k, v]) => k === ':path' && v === path))!;
  // The unique 1200-octet 'a0a0…' value can only shrink this much by Huffman coding.
  assert.ok(byPath('/cri/0').blockLength < 1000, `x-huffman block is ${byPath('/cri/0').blockLength} octets: not Huffman-coded?`);
  // Pseudo-headers (a new :path) plus four repeated headers with 44 octets of text, in under 20
  // octets: the repeats must be dynamic table references.
  assert.ok(byPath('/cri/2').blockLength < 20, `repeated block is ${byPath('/cri/2').blockLength} octets`);
  assert.ok(byPath('/cri/3').continuations > 0, 'request 3 was not split over CONTINUATION frames');
  assert.ok(s2c.some((b) => b.continuations > 0), 'no response block was split over CONTINUATION frames');
}

test('decodes what nghttp2 encodes, both directions, default table size', async () => {
  const requests = 60;
  assertMatches(await crossCheck({ requests, seed: 1 }), requests);
});

test('decodes what nghttp2 encodes with small tables (heavy eviction) and live size changes', async () => {
  const requests = 60;
  assertMatches(
    await crossCheck({
      requests,
      seed: 2,
      clientTableSize: 256,
      serverTableSize: 512,
      midClientTableSize: 64,
      midServerTableSize: 8192,
    }),
    requests,
  );
});

// --- malformed input ---------------------------------------------------------

function assertHpackError(block: Buffer, message: RegExp, decoder = new HpackDecoder()): void {
  assert.throws(() => decoder.decode(block), (err: unknown) => {
    assert.ok(err instanceof HpackError, `expected HpackError, got ${String(err)}`);
    assert.match(err.message, /^critap: /);
    assert.match(err.message, message);
    return true;
  });
}

test('rejects bad indices', () => {
  assertHpackError(hex('80'), /index 0/);
  assertHpackError(hex('be'), /index 62/); // dynamic table is empty
  assertHpackError(hex('ff00'), /index 127/);
  assertHpackError(hex('7e 01 61'), /index 62/); // literal whose name index is missing
  assertHpackError(hex('0f 30 01 61'), /index 63/);
  // After one entry, 62 works and 63 does not.
  const decoder = new HpackDecoder();
  assert.deepEqual(decoder.decode(hex('40 01 61 01 62 be')), [['a', 'b'], ['a', 'b']]);
  assertHpackError(hex('bf'), /index 63/, decoder);
});

test('rejects integers that overflow or never end', () => {
  assertHpackError(hex('ff ff ff ff ff 0f'), /2\^31/); // index ≈ 2^35
  assertHpackError(hex('ff 80 80 80 80 08'), /2\^31/); // 127 + 2^31
  assertHpackError(hex('ff 80 80 80 80 80 00'), /too long/); // redundant zero continuation bytes
  assertHpackError(hex('3f ff ff ff ff 0f'), /2\^31/); // table size update
  assertHpackError(hex('00 7f ff ff ff ff 0f'), /2\^31/); // string length
  // The largest allowed value still parses (and is then a bad index).
  assertHpackError(hex('ff 80 ff ff ff 07'), /index 2147483647/);
});

test('rejects truncated blocks, and every cut of a valid block is either an error or a prefix', () => {
  assertHpackError(hex('ff'), /ends inside an integer/);
  assertHpackError(hex('40'), /ends where a string was expected/);
  assertHpackError(hex('40 01 61'), /ends where a string was expected/);
  assertHpackError(hex('40 05 61 62'), /runs past the end/);
  assertHpackError(hex('00 01 61 85 61'), /runs past the end/);
  const full = hex('3fe1 01 4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3');
  for (let cut = 0; cut < full.length; cut++) {
    try {
      const headers = new HpackDecoder(256).decode(full.subarray(0, cut));
      assert.deepEqual(headers, RESP1.slice(0, headers.length), `cut at ${cut}`);
    } catch (err) {
      assert.ok(err instanceof HpackError, `cut at ${cut}: ${String(err)}`);
    }
  }
});

test('rejects invalid Huffman strings as HpackError', () => {
  // Literal without indexing, name 'a' raw, value Huffman-coded.
  assertHpackError(hex('00 01 61 84 ff ff ff ff'), /EOS/);
  assertHpackError(hex('00 01 61 82 1f ff'), /padding/);
  assertHpackError(hex('00 01 61 81 18'), /padding/);
  // Names may be Huffman-coded too.
  assertHpackError(hex('00 81 18 01 61'), /padding/);
  assert.deepEqual(new HpackDecoder().decode(hex('00 81 1f 81 1f')), [['a', 'a']]);
});

test('table size updates: limits, placement, eviction and setMaxTableSize', () => {
  assertHpackError(hex('3f e2 1f'), /exceeds the allowed 4096/); // 4097
  assertHpackError(hex('3f e2 01'), /exceeds the allowed 256/, new HpackDecoder(256)); // 257
  assertHpackError(hex('82 20'), /after a header field/);

  const decoder = new HpackDecoder();
  decoder.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')); // 55 octets
  assert.equal(decoder.tableSize, 55);
  assert.deepEqual(decoder.decode(hex('20 3f 11')), []); // to 0 (evicts), back to 48
  assert.equal(decoder.tableSize, 0);
  // An entry larger than the table empties it and is not added (not an error).
  assert.deepEqual(decoder.decode(hex('40 01 61 10 62 62 62 62 62 62 62 62 62 62 62 62 62 62 62 62')), [['a', 'b'.repeat(16)]]);
  assert.equal(decoder.tableSize, 0);
  assertHpackError(hex('be'), /index 62/, decoder);

  const raised = new HpackDecoder(256);
  raised.setMaxTableSize(8192);
  assert.deepEqual(raised.decode(hex('3f e1 3f 82')), [[':method', 'GET']]); // update to 8192 allowed now
  assert.throws(() => new HpackDecoder(-1), /critap: /);
  assert.throws(() => raised.setMaxTableSize(1.5), /critap: /);
});

test('dynamic table indexing stays right as the ring grows and wraps', () => {
  const decoder = new HpackDecoder(1 << 20);
  decoder.decode(hex('3f e1 ff 3f')); // size update to 1 MiB: 31 + 97 + 127*128 + 63*16384
  const entries: Header[] = [];
  for (let i = 0; i < 300; i++) {
    const name = `n${i}`;
    const value = `v${i}`.repeat(1 + (i % 5));
    const block = Buffer.concat([
      Buffer.from([0x40, name.length]), Buffer.from(name, 'latin1'),
      Buffer.from([value.length]), Buffer.from(value, 'latin1'),
    ]);
    decoder.decode(block);
    entries.unshift([name, value]);
    if (i % 37 === 0 || i === 299) {
      // Index every entry: 62 is the newest.
      for (let age = 0; age < entries.length; age += 7) {
        const index = 62 + age;
        const enc = index < 127 ? Buffer.from([0x80 | index]) : Buffer.from([0xff, index - 127]);
        if (index - 127 >= 128) continue; // keep the test encoder to two bytes
        assert.deepEqual(decoder.decode(enc), [entries[age]], `index ${index} after ${i + 1} inserts`);
      }
    }
  }
  assert.equal(decoder.tableSize, entries.reduce((n, [k, v]) => n + k.length + v.length + 32, 0));
});

test('strings are latin1: every byte value survives raw and Huffman-coded', () => {
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const huff = huffmanEncode(bytes);
  const lengthOf = (n: number, flag: number): Buffer =>
    n < 127 ? Buffer.from([flag | n]) : Buffer.from([flag | 127, ((n - 127) & 0x7f) | 0x80, (n - 127) >> 7]);
  const block = Buffer.concat([
    Buffer.from([0x00, 0x01, 0x78]), lengthOf(256, 0), bytes, // raw
    Buffer.from([0x00, 0x01, 0x79]), lengthOf(huff.length, 0x80), huff, // Huffman
  ]);
  const text = bytes.toString('latin1');
  assert.deepEqual(new HpackDecoder().decode(block), [['x', text], ['y', text]]);
});

test('only HpackError escapes, for thousands of random and mutated blocks', () => {
  const next = rng(99);
  const valid = [
    '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
    '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
    '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335',
  ].map(hex);
  let errors = 0;
  let decoded = 0;
  let decoder = new HpackDecoder(4096);
  for (let n = 0; n < 4000; n++) {
    let block: Buffer;
    if (n % 2 === 0) {
      block = Buffer.from(Array.from({ length: Math.floor(next() * 48) }, () => Math.floor(next() * 256)));
    } else {
      block = Buffer.from(valid[n % valid.length]!);
      for (let k = 0; k < 1 + Math.floor(next() * 3); k++) block[Math.floor(next() * block.length)] = Math.floor(next() * 256);
    }
    try {
      decoder.decode(block);
      decoded++;
    } catch (err) {
      assert.ok(err instanceof HpackError, `block ${block.toString('hex')}: ${String(err)}`);
      errors++;
      // A failed decoder stays failed.
      assert.throws(() => decoder.decode(hex('82')), HpackError);
      decoder = new HpackDecoder(4096);
    }
  }
  assert.ok(errors > 1000 && decoded > 100, `errors ${errors}, decoded ${decoded}`);
});

// --- skim: the table without the header list --------------------------------------

test('skim keeps the dynamic table exactly as decode does and returns :path (RFC vectors, raw and Huffman)', () => {
  const sequences: Array<{ size: number; blocks: string[] }> = [
    { size: 4096, blocks: ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'] },
    { size: 4096, blocks: ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'] },
    { size: 256, blocks: ['3fe1 01 4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3', '4883 640e ffc1 c0bf'] },
    // C.2.2: :path as a literal without indexing, which skim must read rather than skip.
    { size: 4096, blocks: ['040c 2f73 616d 706c 652f 7061 7468'] },
  ];
  for (const { size, blocks } of sequences) {
    const full = new HpackDecoder(size);
    const skimmed = new HpackDecoder(size);
    for (const block of blocks) {
      const headers = full.decode(hex(block));
      const path = headers.filter(([name]) => name === ':path').pop()?.[1] ?? '';
      assert.equal(skimmed.skim(hex(block)), path, `:path of ${block}`);
      assert.equal(skimmed.tableSize, full.tableSize, `table size after ${block}`);
    }
    // The skimmed decoder's table is the same: the last block decodes the same from it.
    const last = hex(blocks[blocks.length - 1]!);
    assert.deepEqual(new HpackDecoder(size).decode(hex(blocks[0]!)).length > 0, true);
    const again = new HpackDecoder(size);
    const viaSkim = new HpackDecoder(size);
    for (const block of blocks.slice(0, -1)) {
      again.decode(hex(block));
      viaSkim.skim(hex(block));
    }
    assert.deepEqual(viaSkim.decode(last), again.decode(last));
  }
});

test('skim reads :path from any form (indexed, indexed name, literal name) and skips other literals unread', () => {
  const d = new HpackDecoder();
  assert.equal(d.skim(hex('84')), '/'); // static index 4
  assert.equal(d.skim(hex('85')), '/index.html');
  // Literal never indexed with a literal name ":path", then an unrelated never-indexed literal
  // whose (Huffman-flagged) value is not valid Huffman: skim passes over it without reading it.
  const lit = Buffer.concat([Buffer.from([0x10, 5]), Buffer.from(':path'), Buffer.from([3]), Buffer.from('/m1')]);
  const bogus = Buffer.concat([Buffer.from([0x10, 1]), Buffer.from('x'), Buffer.from([0x82, 0xff, 0xff])]);
  assert.equal(d.skim(Buffer.concat([lit, bogus])), '/m1');
  assert.throws(() => new HpackDecoder().decode(Buffer.concat([lit, bogus])), HpackError, 'decode reads every value');
  assert.equal(d.skim(hex('82 86')), '', 'a block without :path');
  assert.equal(d.tableSize, 0);
});

test('skim rejects what decode rejects in fields that touch the table, and a failed decoder stays failed', () => {
  for (const block of ['80', 'be', '3fe2 1f', '82 20', '41', '4185 6162']) {
    const d = new HpackDecoder();
    assert.throws(() => d.skim(hex(block)), HpackError, block);
    assert.throws(() => d.skim(hex('82')), /unusable/);
  }
  assert.throws(() => new HpackDecoder().skim(hex('0f')), HpackError, 'a field cut off in its name index');
});

test('headers from the tables are the tables\' own pairs: static ones frozen, none copied per block', () => {
  const d = new HpackDecoder();
  const [first] = d.decode(hex('82'));
  const [again] = d.decode(hex('82'));
  assert.equal(first, again);
  assert.ok(Object.isFrozen(first));
  const [entered] = d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
  const [indexed] = d.decode(hex('be'));
  assert.equal(indexed, entered, 'an indexed field returns the pair that entered the table');
  assert.deepEqual(indexed, ['custom-key', 'custom-header']);
});

test('tableChanges moves with what changes the table (entries added, size updates) and errors, not with indexed fields or literals left out of it', () => {
  const d = new HpackDecoder();
  const at = () => d.tableChanges;
  const start = at();
  d.decode(hex('82 86 84')); // indexed fields only
  d.decode(hex('04 01 2f')); // :path "/" as a literal not indexed
  assert.equal(at(), start, 'nothing changed the table');
  d.decode(hex('40 01 61 01 62')); // a: b, added to the table
  const added = at();
  assert.notEqual(added, start);
  d.decode(hex('be')); // names the entry just added
  assert.equal(at(), added);
  d.decode(hex('3f e1 1f')); // size update to 4096
  const resized = at();
  assert.notEqual(resized, added);
  assert.throws(() => d.decode(hex('ff ff ff ff ff ff')), HpackError);
  assert.notEqual(at(), resized, 'after an error no earlier reading matches');
});
