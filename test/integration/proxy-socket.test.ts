/**
 * The listening socket's life: created with its parent folder and the right mode, a stale file
 * from a killed process replaced, a live one never stolen, and a clean SIGTERM that lets the
 * call in flight finish, refuses new connections and removes the socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startProxy } from '../../src/proxy/proxy.js';
import { rawClient, startFakeUpstream, unaryCall, type FakeUpstream } from '../support/fake-upstream.js';
import { tempDir } from '../support/temp-dirs.js';
import { sleep, spawnCliProxy, within } from './proxy-harness.js';

const VERSION = '/runtime.v1.RuntimeService/Version';

function freshDir(): string {
  return tempDir('critap-sock-');
}

async function echoUpstream(t: { after(fn: () => unknown): void }): Promise<FakeUpstream> {
  const up = await startFakeUpstream({ unary: { [VERSION]: (call, cb) => cb(null, Buffer.concat([Buffer.from('v:'), call.request])) } });
  t.after(() => up.close());
  return up;
}

async function works(endpoint: string): Promise<void> {
  const client = rawClient(endpoint, { 'grpc.use_local_subchannel_pool': 1 });
  const r = await unaryCall(client, VERSION, Buffer.from('x'));
  client.close();
  assert.equal(r.response?.toString(), 'v:x', `call through ${endpoint}: ${r.error?.message}`);
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** A socket file left behind by a process that was SIGKILLed (it never got to unlink it). */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('ready'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await within(new Promise((r) => child.stdout!.once('data', r)), 10_000, 'the child to listen');
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
  assert.ok(lstatSync(path).isSocket(), 'the killed process left its socket file');
}

/** A live server on `path` that answers each connection with a fixed line. */
async function liveServer(path: string): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on('error', () => {}); // liveness probes hang up at once
    s.end('still mine\n');
  });
  await new Promise<void>((r) => server.listen({ path }, r));
  return server;
}

async function stillServes(path: string): Promise<void> {
  const line = await new Promise<string>((resolve, reject) => {
    const s = net.connect({ path });
    let got = '';
    s.on('data', (b) => (got += b));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
  assert.equal(line, 'still mine\n', 'the other server still answers on its socket');
}

test('library: the parent folder is created; mode 0660 by default, socketMode honoured', async (t) => {
  const up = await echoUpstream(t);
  const deep = join(freshDir(), 'run', 'critap', 'critap.sock');
  const p1 = await startProxy({ listen: deep, upstream: up.endpoint, peerLookup: false });
  t.after(() => p1.close(100));
  assert.ok(lstatSync(deep).isSocket());
  assert.equal(mode(deep), 0o660);
  await works(p1.endpoint);

  const strict = join(freshDir(), 'strict.sock');
  const p2 = await startProxy({ listen: `unix://${strict}`, upstream: up.endpoint, socketMode: 0o600, peerLookup: false });
  t.after(() => p2.close(100));
  assert.equal(mode(strict), 0o600);
  await works(p2.endpoint);

  await p1.close(100);
  assert.equal(existsSync(deep), false, 'close() removes the socket file');
});

test('library: a stale socket file is replaced; a live one is not stolen; a non-socket is not touched', async (t) => {
  const up = await echoUpstream(t);
  const dir = freshDir();

  const stale = join(dir, 'stale.sock');
  await staleSocket(stale);
  const p = await startProxy({ listen: stale, upstream: up.endpoint, peerLookup: false });
  t.after(() => p.close(100));
  await works(p.endpoint);

  const taken = join(dir, 'taken.sock');
  const other = await liveServer(taken);
  t.after(() => new Promise((r) => other.close(r)));
  await assert.rejects(startProxy({ listen: taken, upstream: up.endpoint, peerLookup: false }), (err: Error) => {
    assert.match(err.message, /^critap: /);
    assert.match(err.message, /already served by a live process/);
    assert.ok(err.message.includes(taken));
    return true;
  });
  await stillServes(taken);

  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'keep me');
  await assert.rejects(startProxy({ listen: file, upstream: up.endpoint, peerLookup: false }), /not a socket; refusing to replace it/);
  assert.equal(readFileSync(file, 'utf8'), 'keep me');
});

test('CLI: default mode 0660 and --socket-mode 0600; a stale socket is replaced', async (t) => {
  const up = await echoUpstream(t);
  const dir = freshDir();

  const plain = join(dir, 'nested', 'plain.sock');
  const a = await spawnCliProxy(['--listen', `unix://${plain}`, '--upstream', up.endpoint], plain);
  t.after(() => a.kill());
  assert.equal(mode(plain), 0o660);
  await works(`unix://${plain}`);

  const strict = join(dir, 'strict.sock');
  await staleSocket(strict);
  const b = await spawnCliProxy(['--listen', strict, '--upstream', up.endpoint, '--socket-mode', '0600'], strict);
  t.after(() => b.kill());
  assert.equal(b.child.exitCode, null, `exited: ${b.stderr()}`);
  assert.equal(mode(strict), 0o600);
  await works(`unix://${strict}`);
});

test('CLI: a socket a live process serves is not stolen: exit non-zero, clear message, the other server keeps working', async (t) => {
  const up = await echoUpstream(t);
  const taken = join(freshDir(), 'taken.sock');
  const other = await liveServer(taken);
  t.after(() => new Promise((r) => other.close(r)));
  const cli = await spawnCliProxy(['--listen', taken, '--upstream', up.endpoint], taken);
  t.after(() => cli.kill());
  const { code } = await within(cli.exited, 10_000, 'critap proxy to give up');
  assert.notEqual(code, 0);
  assert.match(cli.stderr(), /critap.*already served by a live process/);
  assert.ok(cli.stderr().includes(taken), cli.stderr());
  assert.doesNotMatch(cli.stderr(), /\n\s+at /, 'a message, not a stack trace');
  await stillServes(taken);
});

test('CLI: SIGTERM with a call in flight: the call completes OK, new connections are refused, the socket is removed, exit 0', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const inHandler = new Promise<void>((r) => (entered = r));
  const up = await startFakeUpstream({
    unary: {
      [VERSION]: (_call, cb) => {
        entered();
        // Answers once the test has checked the stopping proxy (or after 500 ms at the latest).
        void Promise.race([released, sleep(500)]).then(() => cb(null, Buffer.from('finished')));
      },
    },
  });
  t.after(() => up.close());
  const listen = join(freshDir(), 'critap.sock');
  const cli = await spawnCliProxy(['--listen', listen, '--upstream', up.endpoint, '--grace', '10s'], listen);
  t.after(() => cli.kill());
  const client = rawClient(`unix://${listen}`);
  t.after(() => client.close());

  const call = unaryCall(client, VERSION, Buffer.alloc(0), new grpc.Metadata(), { deadline: Date.now() + 15_000 });
  await within(inHandler, 5000, 'the call to reach the runtime');
  cli.child.kill('SIGTERM');
  let gaveUp = false; // ends the polling when within() gives up (else it runs to the file's timeout)
  await within(
    (async () => {
      while (!gaveUp && !cli.stderr().includes('stopping')) await sleep(10);
    })(),
    5000,
    'critap to log that it is stopping',
  ).finally(() => (gaveUp = true));
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect({ path: listen });
    s.once('connect', () => {
      s.destroy();
      resolve('accepted');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  assert.ok(refused === 'ECONNREFUSED' || refused === 'ENOENT', `a new connection while stopping: ${refused}`);
  release();

  const r = await within(call, 10_000, 'the call in flight to finish');
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.response?.toString(), 'finished');
  const { code, signal } = await within(cli.exited, 10_000, 'critap proxy to exit');
  assert.equal(signal, null);
  assert.equal(code, 0, cli.stderr());
  assert.equal(existsSync(listen), false, 'the socket file is removed');
});
