/**
 * critap proxy in front of a real containerd: the seed walkthrough gives the same answers
 * through critap as straight to containerd, events stream through, and old Go clients that
 * send the socket path as :authority get the same bytes back.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import test from 'node:test';
import type { CallRecord, CallSink } from '../../src/call.js';
import { startProxy } from '../../src/proxy/proxy.js';
import { loadCriSchema, makeCriClient } from '../support/cri-client.js';
import { rawClient, streamCall, tempSocketPath } from '../support/fake-upstream.js';
import { realRuntimeOrSkip } from '../support/runtime.js';
import { assertSameAnswers, seedWalkthrough } from '../support/walkthrough.js';

test('the seed walkthrough through critap answers like containerd itself', { timeout: 180_000 }, async (t) => {
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const calls: CallRecord[] = [];
  const sink: CallSink = { needsBodies: true, onCallEnd: (c) => calls.push(c) };
  const proxy = await startProxy({ listen: tempSocketPath('critap'), upstream: rt.endpoint, sinks: [sink] });
  t.after(() => proxy.close(1000));

  const direct = makeCriClient(rt.endpoint);
  const through = makeCriClient(proxy.endpoint);
  t.after(() => {
    direct.close();
    through.close();
  });
  const straight = await seedWalkthrough(direct, { image: rt.registry.image, logDir: rt.dir });
  const proxied = await seedWalkthrough(through, { image: rt.registry.image, logDir: rt.dir });

  assertSameAnswers(straight, proxied);
  // Spot checks that the walkthrough did real work.
  const exec = proxied.find((s) => s.method === 'ExecSync')!.response;
  assert.equal(exec.stdout.toString(), 'hi\n');
  assert.equal(exec.stderr.toString(), 'hello\n');
  const url = proxied.find((s) => s.method === 'Exec')!.response.url as string;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\//, 'Exec answers with containerd\'s own streaming URL, untouched');

  // critap observed every call of the proxied run, in order, all OK.
  const methods = calls.map((c) => c.method.split('/').pop());
  assert.deepEqual(methods, proxied.map((s) => s.method));
  assert.ok(calls.every((c) => c.status.code === 0 && c.end === 'trailers'));
});

/**
 * containerd 1.6 (Debian 12's) does not implement GetContainerEvents: the stream must end with
 * the same UNIMPLEMENTED status through critap as straight to containerd. Event delivery through
 * a server stream is covered against a fake runtime in test/integration.
 */
test('GetContainerEvents through critap ends exactly as it does straight to containerd', { timeout: 60_000 }, async (t) => {
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const proxy = await startProxy({ listen: tempSocketPath('critap'), upstream: rt.endpoint });
  t.after(() => proxy.close(1000));
  const Req = loadCriSchema('v1').lookupType('runtime.v1.GetEventsRequest');
  const outcome = (endpoint: string) =>
    new Promise<{ code: number; details: string; messages: number }>((resolve) => {
      const raw = rawClient(endpoint);
      let messages = 0;
      const stream = streamCall(raw, '/runtime.v1.RuntimeService/GetContainerEvents', Buffer.from(Req.encode({}).finish()));
      stream.on('data', () => messages++);
      stream.on('error', () => {});
      stream.on('status', (st: { code: number; details: string }) => {
        raw.close();
        resolve({ code: st.code, details: st.details, messages });
      });
    });
  const straight = await outcome(rt.endpoint);
  const through = await outcome(proxy.endpoint);
  assert.deepEqual(through, straight);
});

/** One gRPC call with node:http2, as an old Go client sends it: the socket path as :authority. */
function oldClientCall(socketPath: string, path: string, body: Buffer): Promise<{ status: number; data: Buffer; trailers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      ':authority': '/run/containerd/containerd.sock',
      ':scheme': 'http',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('trailers', (trailers) => {
      req.on('close', () => {
        session.close();
        resolve({ status, data: Buffer.concat(chunks), trailers });
      });
    });
    req.on('error', reject);
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    req.end(frame);
  });
}

test('an old client sending the socket path as :authority gets containerd\'s answer through critap', { timeout: 60_000 }, async (t) => {
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const listen = tempSocketPath('critap');
  const proxy = await startProxy({ listen, upstream: rt.endpoint });
  t.after(() => proxy.close(1000));
  const root = loadCriSchema('v1');
  const body = Buffer.from(root.lookupType('runtime.v1.VersionRequest').encode({ version: 'v1' }).finish());
  const straight = await oldClientCall(rt.socketPath, '/runtime.v1.RuntimeService/Version', body);
  const through = await oldClientCall(listen, '/runtime.v1.RuntimeService/Version', body);
  assert.equal(straight.trailers['grpc-status'], '0', 'containerd accepts the old :authority');
  assert.equal(through.status, 200);
  assert.equal(through.trailers['grpc-status'], '0');
  assert.deepEqual(through.data, straight.data, 'same response bytes through critap');
});
