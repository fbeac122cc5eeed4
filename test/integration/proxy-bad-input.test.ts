/**
 * Hostile or broken clients: each bad connection is closed, the proxy stays up, other clients
 * keep working during and after, and memory does not grow with what bad clients send.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { join } from 'node:path';
import { SpanContextPropagation } from '../../src/telemetry/propagation.js';
import { samplerFromEnv } from '../../src/telemetry/sampler.js';
import { Flag, FrameType, PREFACE } from '../../src/wire/frames.js';
import { frame, settingsFrame } from '../../src/wire/frame-writer.js';
import { rawClient, startFakeUpstream, tempSocketPath, unaryCall } from '../support/fake-upstream.js';
import { tempDir } from '../support/temp-dirs.js';
import { closed, connectRaw, sleep, spawnCliProxy, startSetup, vmRssKiB, within, type Setup } from './proxy-harness.js';

const VERSION = '/runtime.v1.RuntimeService/Version';
const SLOW = '/runtime.v1.RuntimeService/ExecSync';
const MiB = 1024 * 1024;

/** Keeps a normal client calling through the proxy until stopped; any failure is kept. */
function keepCalling(endpoint: string): { stop(): Promise<number> } {
  const client = rawClient(endpoint, { 'grpc.use_local_subchannel_pool': 1 });
  let running = true;
  let ok = 0;
  let failure: Error | undefined;
  const loop = (async () => {
    while (running) {
      const r = await unaryCall(client, VERSION, Buffer.from('still here?'));
      if (r.error) failure ??= new Error(`a normal client failed while bad clients connected: ${r.error.message}`);
      else ok++;
      await sleep(5);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      client.close();
      if (failure) throw failure;
      return ok;
    },
  };
}

async function waitNoConnections(s: Setup, keep = 0): Promise<void> {
  await within(
    (async () => {
      while (s.proxy.stats().connections > keep) await sleep(10);
    })(),
    5000,
    'the proxy to drop the bad connection',
  );
}

/** A valid HTTP/2 request start: preface, SETTINGS, and HEADERS for `path` on stream 1. */
function requestStart(path: string): Buffer {
  // HPACK literals without indexing: :method POST (static 3), :scheme http (static 6), then :path etc.
  const lit = (name: string, value: string) =>
    Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
  const block = Buffer.concat([
    Buffer.from([0x83, 0x86]),
    lit(':path', path),
    lit(':authority', 'localhost'),
    lit('content-type', 'application/grpc'),
    lit('te', 'trailers'),
  ]);
  return Buffer.concat([PREFACE, settingsFrame(), frame(FrameType.HEADERS, Flag.END_HEADERS, 1, block)]);
}

for (const propagate of [false, true]) {
test(`bad bytes on a connection close that connection only; other clients keep working${propagate ? ' (with --propagate-trace rewriting headers)' : ''}`, async (t) => {
  const s = await startSetup(
    t,
    { unary: { [VERSION]: (call, cb) => cb(null, call.request) } },
    propagate ? { propagation: new SpanContextPropagation(samplerFromEnv({})) } : {},
  );
  const path = new URL(s.proxy.endpoint).pathname;
  const normal = keepCalling(s.proxy.endpoint);

  const cases: Array<[string, (sock: net.Socket) => void]> = [
    ['random bytes', (sock) => sock.write(randomBytes(4096))],
    ['HTTP/1.1 instead of HTTP/2', (sock) => sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['a truncated preface, then hang-up', (sock) => sock.end(PREFACE.subarray(0, 10))],
    [
      'a valid preface and a HEADERS frame with a garbage HPACK block',
      (sock) => sock.write(Buffer.concat([PREFACE, settingsFrame(), frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))])),
    ],
    [
      'DATA on stream 0',
      (sock) => sock.write(Buffer.concat([PREFACE, settingsFrame(), frame(FrameType.DATA, 0, 0, Buffer.from('x'))])),
    ],
    [
      'a HEADERS frame without END_HEADERS, then a PING instead of its CONTINUATION',
      (sock) => sock.write(Buffer.concat([PREFACE, settingsFrame(), frame(FrameType.HEADERS, 0, 1, Buffer.from([0x83])), frame(FrameType.PING, 0, 0, Buffer.alloc(8))])),
    ],
    [
      'a CONTINUATION frame with no HEADERS before it',
      (sock) => sock.write(Buffer.concat([PREFACE, settingsFrame(), frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.from([0x83]))])),
    ],
  ];
  for (const [name, send] of cases) {
    const sock = await connectRaw(path);
    sock.on('error', () => {});
    sock.resume(); // whatever the runtime answers is of no interest
    send(sock);
    await within(closed(sock), 5000, `connection with ${name} to be closed`);
    await waitNoConnections(s, 1);
  }
  // After all of that, a fresh client works too.
  const after = await unaryCall(s.client(), VERSION, Buffer.from('after'));
  assert.equal(after.response?.toString(), 'after');
  assert.ok((await normal.stop()) > 0, 'the normal client made calls meanwhile');
});
}

test('a call whose gRPC prefix claims 2 GiB: a few MB then hang-up; nothing buffered, the proxy stays up', async (t) => {
  const s = await startSetup(t, { unary: { [VERSION]: (call, cb) => cb(null, call.request) } });
  const normal = keepCalling(s.proxy.endpoint);
  const before = process.memoryUsage().arrayBuffers;

  const session = http2.connect('http://localhost', { createConnection: () => net.connect({ path: new URL(s.proxy.endpoint).pathname }) });
  session.on('error', () => {});
  t.after(() => session.destroy());
  const req = session.request({ ':method': 'POST', ':path': VERSION, 'content-type': 'application/grpc', te: 'trailers' });
  req.on('error', () => {});
  const claim = Buffer.alloc(5);
  claim.writeUInt32BE(2 ** 31, 1);
  req.write(claim);
  const piece = Buffer.alloc(MiB, 0x42);
  for (let i = 0; i < 4; i++) {
    await new Promise<void>((resolve, reject) => req.write(piece, (err) => (err ? reject(err) : resolve())));
  }
  session.destroy();
  await waitNoConnections(s, 1);

  // The normal client's calls are recorded too; the claim is the one cut off by the hang-up.
  const c = await within(
    (async () => {
      for (;;) {
        const found = s.sink.calls.find((call) => call.end !== 'trailers');
        if (found) return found;
        await sleep(10);
      }
    })(),
    5000,
    'the 2 GiB claim to be recorded',
  );
  assert.equal(c.method, VERSION);
  assert.deepEqual(c.requests, [], 'the claimed message is not kept');
  assert.equal(c.truncated, true);
  assert.ok(c.requestBytes >= 5 + 3 * MiB, `counted ${c.requestBytes} bytes`);
  assert.equal(c.end, 'connection-closed');
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 256 * MiB, `buffers grew by ${grown} bytes`);

  assert.ok((await normal.stop()) > 0);
  assert.equal((await unaryCall(s.client(), VERSION, Buffer.from('after'))).response?.toString(), 'after');
});

test('a client that hangs up mid-call: the runtime sees the call cancelled; it is recorded as connection-closed', async (t) => {
  let sawCancel!: () => void;
  const cancelled = new Promise<void>((r) => (sawCancel = r));
  let started!: () => void;
  const inHandler = new Promise<void>((r) => (started = r));
  const s = await startSetup(t, {
    unary: {
      [SLOW]: (call) => {
        call.on('cancelled', () => sawCancel());
        started();
      },
    },
  });
  const sock = await connectRaw(new URL(s.proxy.endpoint).pathname);
  sock.on('error', () => {});
  sock.resume();
  sock.write(Buffer.concat([requestStart(SLOW), frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.alloc(5))]));
  await within(inHandler, 5000, 'the runtime to start the call');
  sock.destroy();
  await within(cancelled, 5000, 'the runtime to see the call cancelled');
  const [c] = await s.sink.waitFor(1);
  assert.equal(c!.method, SLOW);
  assert.equal(c!.end, 'connection-closed');
  assert.notEqual(c!.status.code, 0);
});

test('critap proxy process: RSS stays bounded while bad clients send 2 GiB claims and hang up', async (t) => {
  const up = await startFakeUpstream({ unary: { [VERSION]: (call, cb) => cb(null, call.request) } });
  const listen = tempSocketPath('critap');
  // Recording on, so bodies are captured: the 2 GiB claims must still not be buffered.
  const recording = join(tempDir('critap-rec-'), 'rec');
  const cli = await spawnCliProxy(['--listen', listen, '--upstream', up.endpoint, '--record', recording, '--log-level', 'error'], listen);
  t.after(async () => {
    cli.kill();
    await up.close();
  });
  assert.equal(cli.child.exitCode, null, `critap proxy exited early: ${cli.stderr()}`);

  const hostile = async () => {
    const session = http2.connect('http://localhost', { createConnection: () => net.connect({ path: listen }) });
    session.on('error', () => {});
    const req = session.request({ ':method': 'POST', ':path': VERSION, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => {});
    const claim = Buffer.alloc(5);
    claim.writeUInt32BE(2 ** 31, 1);
    req.write(claim);
    const piece = Buffer.alloc(MiB, 0x42);
    for (let i = 0; i < 4; i++) await new Promise<void>((resolve) => req.write(piece, () => resolve()));
    session.destroy();
  };
  const normal = keepCalling(`unix://${listen}`);
  for (let i = 0; i < 3; i++) await hostile(); // warm up: code loaded, pools sized
  await sleep(200);
  const baseline = vmRssKiB(cli.pid);
  for (let i = 0; i < 25; i++) await hostile(); // 100 MiB of claimed-2-GiB bodies
  await sleep(200);
  const after = vmRssKiB(cli.pid);
  assert.ok((await normal.stop()) > 0, 'a normal client kept working');
  assert.equal(cli.child.exitCode, null, `critap proxy died: ${cli.stderr()}`);
  const grownMiB = (after - baseline) / 1024;
  t.diagnostic(`critap RSS ${baseline} KiB → ${after} KiB after 100 MiB of hostile bodies`);
  // Keeping what the bad clients sent would add ~100 MiB; forwarding it adds next to nothing.
  assert.ok(grownMiB < 48, `RSS grew ${grownMiB.toFixed(1)} MiB (from ${baseline} to ${after} KiB)`);

  const client = rawClient(`unix://${listen}`);
  const r = await unaryCall(client, VERSION, Buffer.from('after'));
  client.close();
  assert.equal(r.response?.toString(), 'after');
});
