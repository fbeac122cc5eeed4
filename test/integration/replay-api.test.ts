/**
 * The library API as a test suite uses it from node:test: start on a fresh temp socket, point a
 * client at it, close; bad options are clear errors; the listener behaves like the proxy's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { replay } from '../../src/replay/index.js';
import { makeCriClient } from '../support/cri-client.js';
import { SEED } from './replay-helpers.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

test('replay() from node:test: temp socket by default, answers, close removes the socket', async () => {
  const runtime = await replay({ recording: SEED, match: 'nearest' });
  assert.match(runtime.endpoint, /^unix:\/\/\/.*\.sock$/);
  const socketPath = runtime.endpoint.slice('unix://'.length);
  assert.ok(existsSync(socketPath));
  const cri = makeCriClient(runtime.endpoint);
  try {
    const v = await cri.runtime('Version', { version: 'v1' });
    assert.equal(v.runtime_name, 'containerd');
    const images = await cri.image('ListImages', {});
    assert.ok(images.images.length > 0);
  } finally {
    cri.close();
  }
  assert.deepEqual(runtime.misses, []);
  assert.equal(runtime.answered(), 2);
  await runtime.close();
  await runtime.close(); // idempotent
  assert.ok(!existsSync(socketPath), 'socket file removed');
});

test('listen: parent folder created, socket mode applied, a live socket is not stolen', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'critap-replay-api-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'nested', 'cri.sock');
  const first = await replay({ recording: SEED, listen: `unix://${path}`, socketMode: 0o600 });
  t.after(() => first.close());
  assert.equal(first.endpoint, `unix://${path}`);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  await assert.rejects(replay({ recording: SEED, listen: path }), /critap: .* is already served by a live process/);
  // A TCP listener on loopback works too (parseEndpoint refuses port 0: find a free one first).
  const port = await freePort();
  const tcp = await replay({ recording: SEED, listen: `tcp://127.0.0.1:${port}` });
  t.after(() => tcp.close());
  assert.equal(tcp.endpoint, `tcp://127.0.0.1:${port}`);
  const cri = makeCriClient(tcp.endpoint);
  t.after(() => cri.close());
  assert.equal((await cri.runtime('Version', { version: 'v1' })).runtime_name, 'containerd');
});

test('bad options are errors prefixed critap:, and nothing is left listening', async () => {
  await assert.rejects(replay({ recording: '/nonexistent/rec' }), /^RecordingError: critap: recording \/nonexistent\/rec does not exist/);
  await assert.rejects(replay({ recording: SEED, match: 'fuzzy' as never }), /critap: match must be nearest, exact, sequence, not "fuzzy"/);
  await assert.rejects(replay({ recording: SEED, timing: 'quick' }), /critap: --timing wants none, recorded or a factor/);
  await assert.rejects(replay({ recording: SEED, onExhausted: 'wrap' as never }), /critap: onExhausted must be repeat, error/);
  await assert.rejects(replay({ recording: SEED, record: true }), /critap: record needs fallback/);
  await assert.rejects(replay({ recording: SEED, ignore: ['a..b'] }), /critap: --ignore "a\.\.b": empty path segment/);
  await assert.rejects(replay({ recording: SEED, listen: 'http://x' }), /critap: unsupported endpoint/);
  const dir = await mkdtemp(join(tmpdir(), 'critap-notrec-'));
  try {
    await assert.rejects(replay({ recording: dir }), /is not a critap recording/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('close() lets a call in flight finish, then refuses new connections', async () => {
  const runtime = await replay({ recording: SEED, timing: '3x' });
  const cri = makeCriClient(runtime.endpoint);
  try {
    await cri.runtime('Version', { version: 'v1' }); // connected
    const slow = cri.runtime('RunPodSandbox', { config: { metadata: { name: 'critap-walk', uid: 'critap-walk-uid', namespace: 'critap-e2e' } } });
    await new Promise((r) => setTimeout(r, 20)); // the call has reached replay
    const closing = runtime.close(5000);
    const answer = await slow;
    assert.match(answer.pod_sandbox_id, /^[0-9a-f]{64}$/);
    await closing;
    await assert.rejects(cri.runtime('Version', { version: 'v1' }, { timeoutMs: 1000 }));
  } finally {
    cri.close();
  }
});
