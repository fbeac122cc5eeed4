/**
 * Child process: the Node.js floor, a byte pipe in Node that understands nothing. Each accepted
 * unix-socket connection gets its own connection to the runtime, and bytes are copied both ways
 * with stream.pipe (which pauses a side whose peer's buffer is full).
 *
 * Why beside socat's floor: critap is a Node process, so part of what it costs over socat is
 * Node's own — libuv, one JavaScript callback per read, a Buffer per chunk — which no Node
 * proxy avoids. This variant shows that part, so the gap from it to critap bare is critap's own.
 */
import net from 'node:net';
import { rmSync } from 'node:fs';
import { childArgs, failChild, onParentMessage, tell } from './children.js';

export interface NodePipeArgs {
  /** Unix socket path to listen on. */
  listen: string;
  /** Unix socket path of the runtime. */
  upstream: string;
}

function main(): void {
  const { listen, upstream } = childArgs<NodePipeArgs>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const runtime = net.connect(upstream);
    for (const s of [client, runtime]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    // Either side failing or closing ends both, as a proxy must.
    const end = () => {
      client.destroy();
      runtime.destroy();
    };
    client.on('error', end).on('close', end);
    runtime.on('error', end).on('close', end);
    client.pipe(runtime);
    runtime.pipe(client);
  });
  server.on('error', failChild);
  rmSync(listen, { force: true });
  server.listen(listen, () => tell({ type: 'ready', endpoint: `unix://${listen}` }));
  onParentMessage((msg) => {
    if (msg.type !== 'stop') return;
    server.close();
    for (const s of sockets) s.destroy();
    tell({ type: 'stopped' });
    setTimeout(() => process.exit(0), 20);
  });
}

try {
  main();
} catch (err) {
  failChild(err);
}
