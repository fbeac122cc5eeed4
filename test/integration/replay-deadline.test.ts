/**
 * --timing recorded honours the client's grpc-timeout: when the recorded latency runs past it,
 * replay answers DEADLINE_EXCEEDED (the client gives up then anyway). Sent with node:http2, which
 * sends grpc-timeout without enforcing a deadline itself, so the status seen is replay's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { replay } from '../../src/replay/index.js';
import { callView } from '../../src/record/call-view.js';
import { SEED, recordedCalls } from './replay-helpers.js';

function prefixed(body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

function call(session: http2.ClientHttp2Session, path: string, body: Buffer, timeout?: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' };
    if (timeout) headers['grpc-timeout'] = timeout;
    const req = session.request(headers);
    let status: Record<string, unknown> = {};
    req.on('response', (h) => (status = { ...h }));
    req.on('trailers', (h) => (status = { ...status, ...h }));
    req.on('error', reject);
    req.resume();
    req.on('close', () => resolve(status));
    req.end(prefixed(body));
  });
}

test('--timing recorded: a recorded latency past the grpc-timeout is answered DEADLINE_EXCEEDED', async (t) => {
  // The slowest call gives the clearest ratio (RunPodSandbox, ~300 ms); of the calls that name no
  // sandbox or container, so a fresh replay answers it as recorded, out of any life cycle.
  const slow = (await recordedCalls(SEED))
    .filter((c) => !/podSandboxId|containerId/.test(JSON.stringify(callView(c).request ?? {})))
    .reduce((a, b) => (b.durationNs > a.durationNs ? b : a));
  assert.ok(slow.durationNs > 20e6, 'the seed recording has a call slower than 20 ms');
  const runtime = await replay({ recording: SEED, timing: 'recorded', onExhausted: 'repeat' });
  t.after(() => runtime.close(0));
  const session = http2.connect('http://localhost', { createConnection: () => net.connect(runtime.endpoint.slice('unix://'.length)) });
  session.on('error', () => {});
  t.after(() => session.destroy());
  const tooShort = `${Math.floor(slow.durationNs / 1e6 / 4)}m`;
  const late = await call(session, slow.method, slow.requests[0]!.data, tooShort);
  assert.equal(late['grpc-status'], '4');
  assert.match(String(late['grpc-message']), /critap replay: deadline exceeded: the recorded answer takes \d+ ms, past the client's grpc-timeout/);
  const inTime = await call(session, slow.method, slow.requests[0]!.data, '30S');
  assert.equal(inTime['grpc-status'], String(slow.status.code));
});
