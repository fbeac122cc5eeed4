/**
 * Old Go clients (kubelet/crictl ≤ 1.29) send the socket path as `:authority`; nghttp2 inside
 * grpc-js would reset such streams. Replay's front rewrites it, so they get their answers —
 * checked with a raw node:http2 client, which can send such a header. Also: a connection that
 * sends bytes that are not HTTP/2 is closed alone; the listener keeps serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { replay } from '../../src/replay/index.js';
import { rawClient, unaryCall } from '../support/fake-upstream.js';
import { SEED, recordedCall } from './replay-helpers.js';

function grpcFrame(body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

interface RawAnswer {
  status?: string;
  grpcStatus?: string;
  body: Buffer;
}

function oldClientCall(session: http2.ClientHttp2Session, path: string, body: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      ':authority': '/run/containerd/containerd.sock',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const answer: RawAnswer = { body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      answer.status = String(h[':status']);
      if (h['grpc-status'] !== undefined) answer.grpcStatus = String(h['grpc-status']);
    });
    req.on('trailers', (h) => (answer.grpcStatus = String(h['grpc-status'])));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('close', () => {
      if (req.rstCode && req.rstCode !== http2.constants.NGHTTP2_NO_ERROR) reject(new Error(`stream reset with code ${req.rstCode}`));
      answer.body = Buffer.concat(chunks);
      resolve(answer);
    });
    req.end(grpcFrame(body));
  });
}

test('a client sending the socket path as :authority gets the recorded answers', async (t) => {
  const runtime = await replay({ recording: SEED });
  t.after(() => runtime.close());
  const path = runtime.endpoint.slice('unix://'.length);
  const session = http2.connect('http://localhost', { createConnection: () => net.connect(path) });
  t.after(() => session.destroy());
  session.on('error', () => {});
  const version = await recordedCall(SEED, 'Version');
  const status = await recordedCall(SEED, 'Status');
  // Two calls on one connection: the second block refers to the first's HPACK table entries.
  for (const c of [version, status, version]) {
    const a = await oldClientCall(session, c.method, c.requests[0]!.data);
    assert.equal(a.status, '200');
    assert.equal(a.grpcStatus, '0');
    assert.ok(a.body.equals(grpcFrame(c.responses[0]!.data)), `${c.method}: recorded answer`);
  }
  assert.deepEqual(runtime.misses, []);
});

test('bytes that are not HTTP/2 close that connection only', async (t) => {
  const runtime = await replay({ recording: SEED });
  t.after(() => runtime.close());
  const path = runtime.endpoint.slice('unix://'.length);
  const closed = await new Promise<boolean>((resolve) => {
    const s = net.connect(path, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.on('error', () => {});
    s.on('close', () => resolve(true));
    s.resume();
  });
  assert.ok(closed);
  const client = rawClient(runtime.endpoint);
  t.after(() => client.close());
  const version = await recordedCall(SEED, 'Version');
  const r = await unaryCall(client, version.method, version.requests[0]!.data);
  assert.ok(r.response?.equals(version.responses[0]!.data));
});
