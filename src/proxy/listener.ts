/**
 * Where critap listens: the socket the kubelet (or a test) connects to. Creates the parent
 * folder, replaces a stale socket file, and refuses to steal a socket a live process serves.
 */
import net from 'node:net';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
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

export async function listen(server: net.Server, endpoint: Endpoint, socketMode: number): Promise<void> {
  if (endpoint.kind === 'unix') await prepareUnixPath(endpoint.path);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(new ListenError(`critap: cannot listen on ${formatEndpoint(endpoint)}: ${err.code ?? ''} ${err.message}`.trim()));
    };
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if (endpoint.kind === 'unix') server.listen({ path: endpoint.path }, done);
    else server.listen({ host: endpoint.host, port: endpoint.port }, done);
  });
  if (endpoint.kind === 'unix') await chmod(endpoint.path, socketMode);
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
