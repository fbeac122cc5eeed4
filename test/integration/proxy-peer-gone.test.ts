// A client that exits within moments of connecting (crictl version) is still named by its
// executable, even when libuv's thread pool, which the async /proc snapshot goes through, is busy
// (under load it is busy with the recording's LevelDB writes). peer.ts reads the newest processes'
// exe links at accept for this; without that, the pid alone comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';

const PEER = new URL('../../src/proxy/peer.js', import.meta.url).href;

test('a client gone before its peer is asked is named by its exe while the thread pool is busy', async () => {
  const script = `
    import net from 'node:net';
    import { execFileSync, spawn } from 'node:child_process';
    import { openSync, read, unlinkSync, writeSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    const { lookupUnixPeer } = await import(${JSON.stringify(PEER)});
    const path = join(tmpdir(), 'critap-peer-gone-' + process.pid + '.sock');
    // The pool's one thread is held by a read of an empty FIFO until the client has exited:
    // the async snapshot cannot list /proc meanwhile, however slowly a loaded machine runs this.
    const fifo = join(tmpdir(), 'critap-peer-gone-' + process.pid + '.fifo');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, 'r+'); // read-write: opening does not wait for a writer
    let poolFreeAt = 0;
    read(fd, Buffer.alloc(1), 0, 1, null, () => (poolFreeAt = Date.now()));
    const accepted = new Promise((resolve) => {
      // Paused: the client's end is not read, so its exit leaves our end open for perl to ask.
      const server = net.createServer({ pauseOnConnect: true }, (socket) => resolve({ socket, lookup: lookupUnixPeer(socket), server }));
      server.listen(path);
    });
    await new Promise((r) => setTimeout(r, 50));
    const client = spawn(process.execPath, ['-e', 'require("net").connect(' + JSON.stringify(path) + ', () => setTimeout(() => process.exit(0), 300))'], { stdio: 'ignore' });
    const { socket, lookup, server } = await accepted;
    const exitedAt = await new Promise((r) => client.once('exit', () => r(Date.now())));
    lookup.ask();
    writeSync(fd, 'x'); // frees the pool: the snapshot now finds the client gone
    const peer = await lookup.peer;
    unlinkSync(fifo);
    console.log(JSON.stringify({ peer, clientPid: client.pid, poolBusyAtExit: poolFreeAt === 0 || poolFreeAt > exitedAt }));
    socket.destroy();
    server.close();`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, UV_THREADPOOL_SIZE: '1' }, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  const { peer, clientPid, poolBusyAtExit } = JSON.parse(out) as { peer: { pid?: number; exe?: string }; clientPid: number; poolBusyAtExit: boolean };
  assert.ok(poolBusyAtExit, 'the thread pool was still busy when the client exited (else this test proves nothing)');
  assert.equal(peer.pid, clientPid);
  assert.equal(peer.exe, realpathSync(process.execPath));
});
