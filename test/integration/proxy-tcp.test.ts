/**
 * TCP endpoints (`tcp://127.0.0.1:port`) as `critap proxy` is run with them: listening on TCP,
 * forwarding to a runtime on TCP, and each mixed with a unix socket on the other side. The same
 * checks as for unix sockets: unary calls byte for byte, a 1 MiB answer, a server stream, the
 * recording (with the client's address as its peer), and a runtime that is down then back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { openRecording } from '../../src/record/reader.js';
import { startCliProxy } from '../support/cli-proxy.js';
import { rawClient, startFakeUpstream, streamCall, unaryCall, type FakeUpstream } from '../support/fake-upstream.js';
import { layeredCleanup } from '../support/layered-cleanup.js';
import { sleep } from './proxy-harness.js';

const V1 = '/runtime.v1.RuntimeService/';
const big = Buffer.alloc(1024 * 1024, 0x5a);

function runtimeHandlers() {
  return {
    unary: {
      [V1 + 'Version']: ((call, cb) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request]))) as grpc.handleUnaryCall<Buffer, Buffer>,
      [V1 + 'ExecSync']: ((_c, cb) => cb(null, big)) as grpc.handleUnaryCall<Buffer, Buffer>,
    },
    stream: {
      [V1 + 'GetContainerEvents']: ((call) => {
        for (let i = 0; i < 3; i++) call.write(Buffer.from(`event ${i}`));
        call.end();
      }) as grpc.handleServerStreamingCall<Buffer, Buffer>,
    },
  };
}

/** A loopback port free a moment ago (the CLI takes no port 0). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const cases: Array<{ name: string; listenTcp: boolean; upstreamTcp: boolean }> = [
  { name: 'tcp listen, tcp runtime', listenTcp: true, upstreamTcp: true },
  { name: 'tcp listen, unix runtime', listenTcp: true, upstreamTcp: false },
  { name: 'unix listen, tcp runtime', listenTcp: false, upstreamTcp: true },
];

for (const c of cases) {
  test(`${c.name}: calls forwarded byte for byte, a 1 MiB answer, a stream, recorded with the peer`, async (t) => {
    const cleanup = layeredCleanup(t);
    const root = await mkdtemp(join(tmpdir(), 'critap-tcp-'));
    cleanup(() => rm(root, { recursive: true, force: true }));
    const up = await startFakeUpstream({ ...runtimeHandlers(), tcp: c.upstreamTcp });
    cleanup(() => up.close());
    const rec = join(root, 'rec');
    const proxy = await startCliProxy(['--listen', c.listenTcp ? `tcp://127.0.0.1:${await freePort()}` : join(root, 'p.sock'), '--upstream', up.endpoint, '--record', rec]);
    cleanup(() => proxy.stop('SIGKILL'));
    if (c.listenTcp) assert.match(proxy.endpoint, /^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/, 'the start line names its port');
    const client = rawClient(proxy.endpoint);
    cleanup(() => client.close());

    const req = Buffer.from([0x0a, 0x03, 0x31, 0x2e, 0x30]);
    const v = await unaryCall(client, V1 + 'Version', req);
    assert.equal(v.error, undefined);
    assert.ok(v.response!.equals(Buffer.concat([Buffer.from('echo:'), req])), 'the answer byte for byte');
    const e = await unaryCall(client, V1 + 'ExecSync', Buffer.alloc(0));
    assert.ok(e.response?.equals(big), 'a 1 MiB answer whole');
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = streamCall(client, V1 + 'GetContainerEvents', Buffer.alloc(0));
      s.on('data', (m: Buffer) => events.push(m.toString()));
      s.on('end', resolve);
      s.on('error', reject);
    });
    assert.deepEqual(events, ['event 0', 'event 1', 'event 2']);
    client.close();
    assert.equal(await proxy.stop(), 0);

    const r = await openRecording(rec);
    try {
      const calls = [];
      for await (const call of r.calls()) calls.push(call);
      assert.deepEqual(calls.map((x) => x.method.split('/').pop()), ['Version', 'ExecSync', 'GetContainerEvents']);
      assert.equal(calls[1]!.responses[0]!.data.length, big.length);
      assert.equal(calls[2]!.responses.length, 3);
      for (const call of calls) {
        if (c.listenTcp) assert.match(call.peer?.address ?? '', /^127\.0\.0\.1:\d+$/, 'a TCP client is named by its address');
        else assert.equal(call.peer?.pid, process.pid, 'a unix client by its pid');
      }
    } finally {
      await r.close();
    }
  });
}

test('tcp runtime down, then back on the same port: UNAVAILABLE naming it, then served within 1 s', async (t) => {
  const cleanup = layeredCleanup(t);
  const up: FakeUpstream = await startFakeUpstream({ ...runtimeHandlers(), tcp: true });
  const port = Number(up.endpoint.split(':').pop());
  up.server.forceShutdown();
  const proxy = await startCliProxy(['--listen', `tcp://127.0.0.1:${await freePort()}`, '--upstream', up.endpoint]);
  cleanup(() => proxy.stop('SIGKILL'));
  const client = rawClient(proxy.endpoint);
  cleanup(() => client.close());
  const down = await unaryCall(client, V1 + 'Version', Buffer.alloc(0));
  assert.equal(down.error?.code, grpc.status.UNAVAILABLE);
  assert.ok(down.error!.details.includes(`tcp://127.0.0.1:${port}`), `names the runtime: ${down.error!.details}`);

  // Back on the same port (a restarted runtime keeps its address).
  const server = new grpc.Server();
  const h = runtimeHandlers();
  server.register(V1 + 'Version', h.unary[V1 + 'Version']!, (b: Buffer) => b, (b: Buffer) => b, 'unary');
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  cleanup(() => server.forceShutdown());
  const backAt = Date.now();
  let ok = false;
  while (!ok && Date.now() - backAt < 1000) {
    ok = !(await unaryCall(client, V1 + 'Version', Buffer.alloc(0), new grpc.Metadata(), { deadline: backAt + 1000 })).error;
    if (!ok) await sleep(20);
  }
  assert.ok(ok, 'served within 1 s of the runtime being back');
  client.close();
  assert.equal(await proxy.stop(), 0);
});
