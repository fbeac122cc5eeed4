/**
 * A real OCI registry (Debian's docker-registry, i.e. distribution v2) on a free
 * loopback port, optionally behind htpasswd basic auth, plus pushing images to it
 * with skopeo.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'node:http';
import { stringify } from 'yaml';

const run = promisify(execFile);

export interface RegistryAuth {
  username: string;
  password: string;
}

export interface RunningRegistry {
  address: string;
  process: ChildProcess;
  logFile: string;
}

/** A port the kernel just handed out; taken back at once, so a (rare) race is retried by the caller. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('critap: no port'))));
    });
  });
}

export async function startRegistry(dir: string, auth?: RegistryAuth): Promise<RunningRegistry> {
  await mkdir(join(dir, 'storage'), { recursive: true });
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const config: Record<string, unknown> = {
      version: 0.1,
      log: { level: 'warn' },
      storage: { filesystem: { rootdirectory: join(dir, 'storage') }, delete: { enabled: true } },
      http: { addr: address, secret: 'critap-test-registry' },
    };
    if (auth) {
      const htpasswd = join(dir, 'htpasswd');
      // The registry accepts bcrypt entries only.
      const { stdout } = await run('htpasswd', ['-Bbn', auth.username, auth.password]);
      await writeFile(htpasswd, stdout);
      config.auth = { htpasswd: { realm: 'critap', path: htpasswd } };
    }
    const configFile = join(dir, 'config.yml');
    await writeFile(configFile, stringify(config));
    const logFile = join(dir, 'registry.log');
    const fd = openSync(logFile, 'a');
    const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const up = await waitHttp(address, child, 10_000);
    if (up === 'up') return { address, process: child, logFile };
    child.kill('SIGKILL');
    lastError = up;
  }
  throw new Error(`critap: docker-registry did not come up in ${dir}: ${lastError}`);
}

/** Polls GET /v2/ (200 open, 401 with auth) until it answers or the process dies. */
async function waitHttp(address: string, child: ChildProcess, ms: number): Promise<string> {
  let exited: string | undefined;
  child.once('exit', (code, sig) => (exited = `exited (${sig ?? code})`));
  child.once('error', (err) => (exited = err.message));
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (exited) return exited;
    const status = await new Promise<number>((resolve) => {
      const req = request(`http://${address}/v2/`, { timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.once('error', () => resolve(0));
      req.once('timeout', () => req.destroy());
      req.end();
    });
    if (status === 200 || status === 401) return 'up';
    await new Promise((r) => setTimeout(r, 50));
  }
  return exited ?? `no answer on http://${address}/v2/ within ${ms} ms`;
}

/**
 * Pushes to one registry, one at a time. distribution's filesystem driver answers 500
 * ("failed to read from destination repository") when two uploads of the same blob race, which
 * happens when one archive is pushed under several tags at once (seen in CI with critest's
 * test-image-tags:1,2,3,latest). Different registries still push side by side.
 */
const pushQueues = new Map<string, Promise<void>>();

/** Pushes a docker-archive tarball to `reference` ('127.0.0.1:PORT/name:tag'); pushes to the same registry wait for each other. */
export function pushArchive(archive: string, reference: string, tmpDir: string, auth?: RegistryAuth): Promise<void> {
  const registry = reference.split('/')[0]!;
  const previous = pushQueues.get(registry) ?? Promise.resolve();
  const mine = previous.catch(() => undefined).then(() => pushNow(archive, reference, tmpDir, auth));
  const tail = mine.catch(() => undefined);
  pushQueues.set(registry, tail);
  void tail.then(() => {
    if (pushQueues.get(registry) === tail) pushQueues.delete(registry);
  });
  return mine;
}

async function pushNow(archive: string, reference: string, tmpDir: string, auth?: RegistryAuth): Promise<void> {
  const args = ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false'];
  if (auth) args.push('--dest-creds', `${auth.username}:${auth.password}`);
  args.push(`docker-archive:${archive}`, `docker://${reference}`);
  try {
    // TMPDIR: skopeo stages blobs there; keep them inside the instance folder.
    await run('skopeo', args, { env: { ...process.env, TMPDIR: tmpDir }, timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`critap: skopeo could not push ${archive} to ${reference}: ${e.stderr?.trim() || e.message}`);
  }
}
