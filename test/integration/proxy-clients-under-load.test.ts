/**
 * Clients that push critap: a thousand connections at once, a client that never reads its
 * answers, a client that opens calls and never finishes them. Forwarding for everyone else goes
 * on, critap's memory stays bounded, and every call opened is accounted for when it ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { startProxy } from '../../src/proxy/proxy.js';
import { startCliProxy } from '../support/cli-proxy.js';
import { rawClient, startFakeUpstream, tempSocketPath, unaryCall } from '../support/fake-upstream.js';
import { layeredCleanup } from '../support/layered-cleanup.js';
import { connectRawH2 } from '../support/raw-h2-client.js';
import { CallCollector, sleep } from './proxy-harness.js';

const V1 = '/runtime.v1.RuntimeService/';
const VERSION = V1 + 'Version';
const EXEC_SYNC = V1 + 'ExecSync';
const EVENTS = V1 + 'GetContainerEvents';
const MiB = 1024 * 1024;

/** One gRPC call with empty request on an http2 session; resolves with the grpc-status. */
function h2Call(session: http2.ClientHttp2Session, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    let status = '';
    req.on('response', (h) => (status = String(h['grpc-status'] ?? status)));
    req.on('trailers', (h) => (status = String(h['grpc-status'] ?? status)));
    req.on('data', () => {});
    req.on('end', () => resolve(status));
    req.on('error', reject);
    req.end(Buffer.alloc(5));
  });
}

async function until(what: () => string, check: () => boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries && !check(); i++) await sleep(50);
  assert.ok(check(), what());
}

test('1000 client connections at once: every call answered and observed, each naming its client', { timeout: 180_000 }, async (t) => {
  const cleanup = layeredCleanup(t);
  const up = await startFakeUpstream({ unary: { [VERSION]: (_c, cb) => cb(null, Buffer.from('v')) } });
  cleanup(() => up.close());
  const sink = new CallCollector(false);
  const proxy = await startProxy({ listen: tempSocketPath('proxy'), upstream: up.endpoint, sinks: [sink] });
  cleanup(() => proxy.close(500));
  const path = proxy.endpoint.replace(/^unix:\/\//, '');
  const sessions: http2.ClientHttp2Session[] = [];
  cleanup(() => sessions.forEach((s) => s.destroy()));
  for (let i = 0; i < 1000; i++) sessions.push(http2.connect('http://localhost', { createConnection: () => net.connect(path) }));
  const first = await Promise.all(sessions.map((s) => h2Call(s, VERSION)));
  assert.deepEqual(first.filter((s) => s !== '0'), [], 'every first call succeeded');
  assert.equal(proxy.stats().connections, 1000, 'all 1000 connections open at once');
  const second = await Promise.all(sessions.map((s) => h2Call(s, VERSION)));
  assert.deepEqual(second.filter((s) => s !== '0'), [], 'every second call succeeded');
  for (const s of sessions) s.close();
  const calls = await sink.waitFor(2000, 30_000);
  assert.equal(calls.length, 2000);
  const unnamed = calls.filter((c) => c.peer?.pid !== process.pid).length;
  assert.equal(unnamed, 0, `each call names its client process (${unnamed} of 2000 do not)`);
});

test('a client that never reads its answers: critap\'s memory stays bounded, other clients are served', { timeout: 180_000 }, async (t) => {
  const cleanup = layeredCleanup(t);
  const root = await mkdtemp(join(tmpdir(), 'critap-noread-'));
  cleanup(() => rm(root, { recursive: true, force: true }));
  const answer = Buffer.alloc(MiB, 0x61);
  const up = await startFakeUpstream({
    unary: { [EXEC_SYNC]: (_c, cb) => cb(null, answer), [VERSION]: (_c, cb) => cb(null, Buffer.from('v')) },
  });
  cleanup(() => up.close());
  const proxy = await startCliProxy(['--listen', join(root, 'p.sock'), '--upstream', up.endpoint, '--no-peer-lookup']);
  cleanup(() => proxy.stop('SIGKILL'));
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proxy.child.pid}/status`, 'utf8'))![1]) / 1024;
  const path = join(root, 'p.sock');

  const rssBefore = rss();
  const hog = await connectRawH2(path, { hugeWindows: true });
  cleanup(() => hog.destroy());
  hog.socket.pause(); // never reads a byte
  // 200 MiB of answers asked for, with windows that let the runtime send them all at once.
  for (let i = 0; i < 200; i++) hog.call(EXEC_SYNC, true);
  let peak = rssBefore;
  const client = rawClient(proxy.endpoint);
  cleanup(() => client.close());
  for (let i = 0; i < 40; i++) {
    const r = await unaryCall(client, i % 2 === 0 ? VERSION : EXEC_SYNC, Buffer.alloc(0));
    assert.equal(r.error, undefined, `another client's call ${i} is served while the hog does not read`);
    peak = Math.max(peak, rss());
    await sleep(50);
  }
  t.diagnostic(`critap RSS ${rssBefore.toFixed(0)} MiB before, at most ${peak.toFixed(0)} MiB while 200 MiB of answers waited for a client that does not read`);
  assert.ok(peak - rssBefore < 64, `critap's memory stays bounded: +${(peak - rssBefore).toFixed(0)} MiB`);
  hog.destroy();
  const after = await unaryCall(client, VERSION, Buffer.alloc(0));
  assert.equal(after.error, undefined, 'served after the hog left');
  client.close();
  assert.equal(await proxy.stop(), 0);
});

test('a client that opens calls and never finishes them: others are served; its calls end when it goes', { timeout: 120_000 }, async (t) => {
  const cleanup = layeredCleanup(t);
  const open = new Set<grpc.ServerWritableStream<Buffer, Buffer>>();
  const up = await startFakeUpstream({
    unary: { [VERSION]: (_c, cb) => cb(null, Buffer.from('v')) },
    // An event stream that never ends by itself, as the kubelet's GetContainerEvents.
    stream: { [EVENTS]: (call) => void open.add(call) },
  });
  cleanup(() => up.close());
  const sink = new CallCollector(false);
  const proxy = await startProxy({ listen: tempSocketPath('proxy'), upstream: up.endpoint, sinks: [sink], peerLookup: false });
  cleanup(() => proxy.close(200));
  const path = proxy.endpoint.replace(/^unix:\/\//, '');

  const lingerers = await Promise.all(Array.from({ length: 4 }, () => connectRawH2(path)));
  cleanup(() => lingerers.forEach((l) => l.destroy()));
  for (const l of lingerers) {
    for (let i = 0; i < 50; i++) l.call(VERSION, false); // headers only: the request never ends
    for (let i = 0; i < 25; i++) l.call(EVENTS, true); // answered by a stream that never ends
  }
  await until(() => `critap sees the 300 open calls (${proxy.stats().openCalls})`, () => proxy.stats().openCalls === 300);
  const client = rawClient(proxy.endpoint);
  cleanup(() => client.close());
  for (let i = 0; i < 20; i++) assert.equal((await unaryCall(client, VERSION, Buffer.alloc(0))).error, undefined, `call ${i} of another client`);
  client.close();
  for (const l of lingerers) l.destroy();
  await until(() => `the open calls end with their connections (${proxy.stats().openCalls} left)`, () => proxy.stats().openCalls === 0);
  const ended = await sink.waitFor(320, 10_000);
  const closed = ended.filter((c) => c.method !== VERSION || c.status.code !== 0);
  assert.equal(closed.length, 300, 'each unfinished call is observed once');
  assert.ok(closed.every((c) => c.end === 'connection-closed'), 'as ended by the connection closing');
  await until(() => `the runtime's streams were cancelled (${[...open].filter((c) => !c.cancelled).length} not)`, () => [...open].every((c) => c.cancelled));
});
