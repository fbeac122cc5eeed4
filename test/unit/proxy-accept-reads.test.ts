/**
 * Pins, on the Node in use, what accept-reads.ts relies on: a net.Server whose listening
 * handle builds each socket with `onread` behaves like any accepted socket (bytes, EOF,
 * errors, pause/resume, connection counts, server.close), only the bytes go to the slot.
 * If a Node upgrade changes net.Server, these fail (or install() refuses and the proxy falls
 * back to 'data' events, which the fallback test covers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { ClientReadAcceptor, type ClientReadSlot } from '../../src/proxy/accept-reads.js';
import { startProxy } from '../../src/proxy/proxy.js';
import { tempDir } from '../support/temp-dirs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const socketPath = () => join(tempDir('critap-accept-'), 's.sock');

interface Accepted {
  socket: net.Socket;
  slot: ClientReadSlot | undefined;
  /** What the slot's handler got, each chunk copied (the view is read into again). */
  reads: Buffer[];
}

async function serve(opts: net.ServerOpts = {}, setup?: (s: net.Server) => void, tcp = false) {
  const acceptor = new ClientReadAcceptor(16);
  const accepted: Accepted[] = [];
  const waiting: Array<(a: Accepted) => void> = [];
  const server = net.createServer(opts, (socket) => {
    const a: Accepted = { socket, slot: acceptor.slotOf(socket), reads: [] };
    if (a.slot) a.slot.handler = (view) => a.reads.push(Buffer.from(view));
    socket.on('error', () => {});
    accepted.push(a);
    waiting.shift()?.(a);
  });
  setup?.(server);
  const path = socketPath();
  if (tcp) server.listen(0, '127.0.0.1');
  else server.listen(path);
  await once(server, 'listening');
  const installed = acceptor.install(server);
  const at = tcp ? { port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' } : { path };
  const next = () => new Promise<Accepted>((resolve) => (accepted.length > 0 ? resolve(accepted.shift()!) : waiting.push(resolve)));
  const connect = async () => {
    const c = net.connect(at);
    c.on('error', () => {});
    await once(c, 'connect');
    return c;
  };
  return { server, installed, next, connect };
}

async function until(what: string, ok: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const joined = (a: Accepted) => Buffer.concat(a.reads).toString();

test('the client\'s bytes reach the slot, in order, and no \'data\' event', async () => {
  const { server, installed, next, connect } = await serve();
  assert.equal(installed, true, 'install() takes this Node\'s net.Server');
  const c = await connect();
  const a = await next();
  assert.ok(a.slot, 'the socket reads into a slot');
  let dataEvents = 0;
  a.socket.on('data', () => dataEvents++);
  // More than the 16-byte buffer: several reads into the same buffer.
  const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(10);
  c.write(text.slice(0, 100));
  await until('the first bytes', () => joined(a).length === 100);
  c.write(text.slice(100));
  await until('all bytes', () => joined(a).length === text.length);
  assert.equal(joined(a), text);
  assert.equal(dataEvents, 0);
  // Writing back works as on any socket.
  a.socket.write('pong');
  const [reply] = (await once(c, 'data')) as [Buffer];
  assert.equal(reply.toString(), 'pong');
  c.destroy();
  server.close();
});

test('the slot\'s buffer can be swapped between reads (a write still holding the last one)', async () => {
  const { server, next, connect } = await serve();
  const c = await connect();
  const a = await next();
  const seen: Buffer[] = [];
  a.slot!.handler = (view) => {
    seen.push(view);
    a.slot!.buffer = Buffer.alloc(16); // the view stays intact: the next read goes elsewhere
  };
  c.write('first');
  await until('the first read', () => seen.length === 1);
  c.write('second');
  await until('the second read', () => seen.length === 2);
  assert.deepEqual(seen.map(String), ['first', 'second']);
  c.destroy();
  server.close();
});

test('a slot nobody took hands its reads to \'data\' listeners as copies', async () => {
  const acceptor = new ClientReadAcceptor(16);
  const got: Buffer[] = [];
  const server = net.createServer((socket) => {
    assert.ok(acceptor.slotOf(socket));
    socket.on('data', (d: Buffer) => got.push(d));
  });
  const path = socketPath();
  server.listen(path);
  await once(server, 'listening');
  assert.equal(acceptor.install(server), true);
  const c = net.connect(path);
  c.write('hello');
  await until('the bytes', () => Buffer.concat(got).toString() === 'hello');
  c.destroy();
  server.close();
});

test('EOF from the client ends and closes the socket, and the server counts it gone', async () => {
  const { server, next, connect } = await serve();
  const c = await connect();
  const a = await next();
  const count = () => new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  assert.equal(await count(), 1);
  const ended = once(a.socket, 'end');
  const closed = once(a.socket, 'close');
  // allowHalfOpen is false: our side ends too, and the client sees it.
  const clientEnded = once(c, 'end');
  c.write('last words');
  c.end();
  await Promise.all([ended, closed, clientEnded]);
  assert.equal(joined(a), 'last words');
  assert.equal(await count(), 0);
  server.close();
});

test('allowHalfOpen is kept: our side may still write after the client\'s EOF', async () => {
  const { server, next, connect } = await serve({ allowHalfOpen: true });
  const c = await connect();
  const a = await next();
  // Listeners first: the events of one loop turn may come in either order.
  const closed = once(a.socket, 'close');
  const got = once(c, 'data');
  c.end();
  await once(a.socket, 'end');
  assert.equal(a.socket.writable, true);
  a.socket.end('after your EOF');
  assert.equal(String(((await got) as [Buffer])[0]), 'after your EOF');
  await closed;
  server.close();
});

test('a read error (the client reset the connection) errors and closes the socket', async () => {
  // TCP: a unix socket has no reset, its peer reads EOF.
  const { server, installed, next, connect } = await serve({}, undefined, true);
  assert.equal(installed, true);
  const c = await connect();
  const a = await next();
  assert.ok(a.slot);
  let error: NodeJS.ErrnoException | undefined;
  a.socket.on('error', (e) => (error = e));
  // Not events.once: it rejects on the 'error' this test waits for.
  const closed = new Promise((resolve) => a.socket.once('close', resolve));
  c.resetAndDestroy();
  await closed;
  assert.equal(error?.code, 'ECONNRESET');
  server.close();
});

test('pause() stops reading until resume(), as the capture budget and back-pressure use it', async () => {
  const { server, next, connect } = await serve();
  const c = await connect();
  const a = await next();
  c.write('one');
  await until('the first bytes', () => joined(a) === 'one');
  a.socket.pause();
  c.write('two');
  await sleep(50);
  assert.equal(joined(a), 'one', 'nothing read while paused');
  a.socket.resume();
  await until('the bytes after resume', () => joined(a) === 'onetwo');
  // EOF while paused is seen after resume, and closes the socket.
  const closed = once(a.socket, 'close');
  a.socket.pause();
  c.end();
  await sleep(30);
  assert.equal(a.socket.destroyed, false);
  a.socket.resume();
  await closed;
  server.close();
});

test('pauseOnConnect: nothing is read until resume()', async () => {
  const { server, next, connect } = await serve({ pauseOnConnect: true });
  const c = await connect();
  const a = await next();
  c.write('waiting');
  await sleep(40);
  assert.equal(joined(a), '');
  a.socket.resume();
  await until('the bytes', () => joined(a) === 'waiting');
  c.destroy();
  server.close();
});

test('server.close() waits for accepted sockets, and calls back once they are closed', async () => {
  const { server, next, connect } = await serve();
  const c1 = await connect();
  const c2 = await connect();
  const a1 = await next();
  const a2 = await next();
  let closed = false;
  server.close(() => (closed = true));
  await sleep(30);
  assert.equal(closed, false, 'two connections still open');
  const closed2 = once(a2.socket, 'close');
  a1.socket.destroy();
  c2.end();
  await closed2;
  await until('server.close() to call back', () => closed);
  c1.destroy();
});

test('what this does not copy (maxConnections) goes Node\'s own way: no slot, \'data\' events', async () => {
  const { server, next, connect } = await serve({}, (s) => (s.maxConnections = 5));
  const c = await connect();
  const a = await next();
  assert.equal(a.slot, undefined);
  const got = once(a.socket, 'data');
  c.write('plain');
  assert.equal(String(((await got) as [Buffer])[0]), 'plain');
  c.destroy();
  server.close();
});

test('install() refuses a server that is not listening', () => {
  assert.equal(new ClientReadAcceptor(16).install(net.createServer()), false);
});

test('startProxy installs it on its listener (on this Node, client sockets do not fall back to \'data\')', async () => {
  const results: boolean[] = [];
  const install = ClientReadAcceptor.prototype.install;
  ClientReadAcceptor.prototype.install = function (this: ClientReadAcceptor, server: net.Server) {
    const ok = install.call(this, server);
    results.push(ok);
    return ok;
  };
  try {
    const proxy = await startProxy({ listen: socketPath(), upstream: socketPath(), peerLookup: false });
    await proxy.close(0);
  } finally {
    ClientReadAcceptor.prototype.install = install;
  }
  assert.deepEqual(results, [true]);
});
