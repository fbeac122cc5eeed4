/**
 * The floor variant: socat copying bytes between a unix listen socket and the runtime's socket,
 * understanding nothing. No proxy can forward for less, so critap's cost is also read against it.
 *
 * Options chosen for a fair floor:
 *   fork       one process per connection (the client pool opens one per worker), like the
 *              concurrent connections critap serves on its one event loop; without it socat
 *              serves a single connection and exits;
 *   reuseaddr  harmless on unix sockets, kept so the command matches the usual invocation;
 *   -b 65536   copy in 64 KiB blocks, the size Node (critap) reads a socket in; with socat's
 *              default 8 KiB a middle socat spent 2.7 s of CPU per GiB copied between unix
 *              sockets here, with 64 KiB 0.8 s (measured side by side, /usr/bin/time).
 * socat comes from Debian's package (scripts/setup-runtime.sh installs it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { treeCpuSeconds } from './cpu.js';
import type { RunningVariant } from './variants.js';

const SOCAT_PATHS = ['/usr/bin/socat', '/usr/local/bin/socat', '/bin/socat'];
const BLOCK_BYTES = 65536;

/** Why the floor variant cannot run here, or undefined when socat is installed. */
export function floorMissing(): string | undefined {
  if (socatPath()) return undefined;
  return 'socat is not installed (scripts/setup-runtime.sh installs it: apt-get install socat)';
}

function socatPath(): string | undefined {
  const known = SOCAT_PATHS.find((p) => existsSync(p));
  if (known) return known;
  const r = spawnSync('sh', ['-c', 'command -v socat'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

const unixPath = (endpoint: string) => {
  if (!endpoint.startsWith('unix://')) throw new Error(`critap: bench floor needs a unix:// runtime endpoint, got "${endpoint}"`);
  return endpoint.slice('unix://'.length);
};

/**
 * Whether a unix socket at `path` is listening, from /proc/net/unix (flag __SO_ACCEPTCON). A test
 * connection would do too, but socat would fork for it, and its child would log a broken pipe
 * when the runtime's HTTP/2 settings reached a connection already gone.
 */
export function unixListening(path: string, table = readFileSync('/proc/net/unix', 'utf8')): boolean {
  for (const line of table.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path
    if (cols.length >= 8 && cols[7] === path && (parseInt(cols[3]!, 16) & 0x10000) !== 0) return true;
  }
  return false;
}

async function listening(path: string, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const gone = exited();
    if (gone) throw new Error(`critap: bench floor: socat ${gone}`);
    if (unixListening(path)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`critap: bench floor: socat did not listen on ${path} within ${timeoutMs} ms`);
}

export async function startFloor(workDir: string, name: string, upstream: string): Promise<RunningVariant> {
  const socat = socatPath();
  if (!socat) throw new Error(`critap: bench floor: ${floorMissing()}`);
  const listen = join(workDir, `${name}.sock`);
  const child = spawn(socat, ['-b', String(BLOCK_BYTES), `UNIX-LISTEN:${listen},fork,reuseaddr`, `UNIX-CONNECT:${unixPath(upstream)}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exitNote: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, sig) => {
      exitNote = `exited (${sig ?? `code ${code}`})`;
      resolve();
    });
    child.once('error', (err) => {
      exitNote = `could not start (${err.message})`;
      resolve();
    });
  });
  const pid = child.pid ?? 0;
  try {
    await listening(listen, 10_000, () => exitNote);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    endpoint: `unix://${listen}`,
    cpu: () => ({ proxy: treeCpuSeconds(pid) }),
    async stop() {
      // No peak RSS: the parent's says nothing of the per-connection children that copy the bytes.
      // The per-connection children end when their client hangs up; the parent only accepts.
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
      return {};
    },
  };
}
