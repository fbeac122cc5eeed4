/**
 * Where critap listens: the socket the kubelet (or a test) connects to. Creates the parent
 * folder, replaces a stale socket file, and refuses to steal a socket a live process serves.
 */
import net from 'node:net';
import { chmod, lstat, mkdir, mkdtemp, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatEndpoint, type Endpoint } from '../endpoint.js';

export class ListenError extends Error {}

/** Does anything answer on this unix socket path? */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function prepareUnixPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  let st;
  try {
    st = await lstat(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) {
    throw new ListenError(`critap: ${path} exists and is not a socket; refusing to replace it`);
  }
  if (await socketIsLive(path)) {
    throw new ListenError(`critap: ${path} is already served by a live process; stop it first or choose another --listen`);
  }
  await unlink(path); // stale socket left by a process that died
}

/**
 * Connections the kernel queues before critap accepts them. Node's default (511) makes a burst
 * of clients connecting at once (a node's many agents after a restart) fail with EAGAIN on a
 * unix socket; the kernel caps this at net.core.somaxconn.
 */
const LISTEN_BACKLOG = 4096;

function bind(server: net.Server, endpoint: Endpoint, at: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(new ListenError(`critap: cannot listen on ${formatEndpoint(endpoint)}: ${err.code ?? ''} ${err.message}`.trim()));
    };
    server.once('error', onError);
    server.listen({ ...at, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/**
 * The socket must never be reachable with a wider mode than asked for: bind() creates it with
 * 0777 & ~umask, and a plain listen-then-chmod leaves it world-writable for a moment under
 * umask 000 (a socket to containerd is root on the node). So it is bound inside a fresh 0700
 * folder next to its final place, given its mode there, where no other user can reach it, and
 * renamed into place: rename is atomic, so the final path appears with its final mode.
 * Not the other common fix, umask around bind: the umask is per process, and the observer
 * thread (LevelDB) and libuv's pool create files at the same time, which would get it too.
 * Only when the private path would be too long for a socket address (a final name near the
 * 107-byte limit) is the umask used, for the one synchronous bind call.
 */
async function bindUnixWithMode(server: net.Server, endpoint: Endpoint & { kind: 'unix' }, socketMode: number): Promise<void> {
  const parent = dirname(endpoint.path);
  if (Buffer.byteLength(join(parent, '.cXXXXXX', 's')) > MAX_SOCKET_PATH) {
    const old = process.umask(0o777 & ~socketMode);
    let bound: Promise<void>;
    try {
      bound = bind(server, endpoint, { path: endpoint.path }); // the bind itself happens in this call
    } finally {
      process.umask(old);
    }
    await bound; // bind made it 0777 & ~umask: exactly socketMode
    return;
  }
  const privateDir = await mkdtemp(join(parent, '.c'));
  const temp = join(privateDir, 's');
  try {
    await bind(server, endpoint, { path: temp });
    await chmod(temp, socketMode);
    await rename(temp, endpoint.path);
  } catch (err) {
    server.close();
    await unlink(temp).catch(() => {});
    throw err instanceof ListenError ? err : new ListenError(`critap: cannot listen on ${formatEndpoint(endpoint)}: ${(err as Error).message}`);
  } finally {
    await rmdir(privateDir).catch(() => {});
  }
}

export async function listen(server: net.Server, endpoint: Endpoint, socketMode: number): Promise<void> {
  if (endpoint.kind === 'unix') {
    await prepareUnixPath(endpoint.path);
    await bindUnixWithMode(server, endpoint, socketMode);
  } else {
    await bind(server, endpoint, { host: endpoint.host, port: endpoint.port });
  }
}

/** The endpoint actually bound (a tcp port 0 becomes the real port). */
export function boundEndpoint(server: net.Server, endpoint: Endpoint): Endpoint {
  if (endpoint.kind === 'unix') return endpoint;
  const addr = server.address();
  return addr && typeof addr === 'object' ? { kind: 'tcp', host: endpoint.host, port: addr.port } : endpoint;
}

export async function removeSocket(endpoint: Endpoint): Promise<void> {
  if (endpoint.kind !== 'unix') return;
  try {
    await unlink(endpoint.path);
  } catch {
    // already gone
  }
}
