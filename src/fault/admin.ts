/**
 * The admin socket of a running proxy or replay (`--admin`): changes its fault rules without a
 * restart, so a kubelet's connection is never broken to change a fault. One JSON request per
 * line, one JSON answer per line:
 *   {"op":"list"} · {"op":"add","rule":"method=Version,delay=1s"} · {"op":"remove","id":2} · {"op":"clear"}
 * A unix socket by default, mode 0600: whoever can write to it can fail the node's calls.
 */
import net from 'node:net';
import { parseEndpoint, type Endpoint } from '../endpoint.js';
import type { Logger } from '../log.js';
import { boundEndpoint, listen, removeSocket } from '../proxy/listener.js';
import type { FaultSet } from './set.js';

export interface AdminServer {
  readonly endpoint: Endpoint;
  close(): Promise<void>;
}

/** Longest request line accepted: a rule is a few hundred bytes. */
const MAX_LINE = 64 * 1024;

export type AdminRequest = { op: 'list' } | { op: 'clear' } | { op: 'add'; rule: string } | { op: 'remove'; id: number };

export function answer(faults: FaultSet, line: string): Record<string, unknown> {
  let req: Partial<AdminRequest> & { op?: unknown };
  try {
    req = JSON.parse(line) as typeof req;
  } catch {
    return { ok: false, error: 'a request is one JSON object per line, e.g. {"op":"list"}' };
  }
  try {
    switch (req.op) {
      case 'list':
        return { ok: true, rules: faults.list() };
      case 'add':
        if (typeof (req as { rule?: unknown }).rule !== 'string') return { ok: false, error: 'add wants "rule": "method=…,…"' };
        return { ok: true, id: faults.add((req as { rule: string }).rule) };
      case 'remove': {
        const id = (req as { id?: unknown }).id;
        if (typeof id !== 'number') return { ok: false, error: 'remove wants "id": <number> (see list)' };
        return faults.remove(id) ? { ok: true } : { ok: false, error: `no rule ${id}; the rules are: ${faults.list().map((r) => r.id).join(', ') || 'none'}` };
      }
      case 'clear': {
        const n = faults.size;
        faults.clear();
        return { ok: true, removed: n };
      }
      default:
        return { ok: false, error: `unknown op ${JSON.stringify(req.op)}; ops: list, add, remove, clear` };
    }
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export async function startAdmin(where: string, faults: FaultSet, logger: Logger): Promise<AdminServer> {
  const endpoint = parseEndpoint(where);
  const server = net.createServer((socket) => {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE && !buf.includes('\n')) {
        socket.end(JSON.stringify({ ok: false, error: 'request line too long' }) + '\n');
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        const res = answer(faults, line);
        if (res.ok && /"op"\s*:\s*"(add|remove|clear)"/.test(line)) logger.info('fault rules changed through the admin socket', { request: line });
        socket.write(JSON.stringify(res) + '\n');
      }
    });
  });
  await listen(server, endpoint, 0o600);
  const bound = boundEndpoint(server, endpoint);
  return {
    endpoint: bound,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Admin clients are short-lived; one left open must not hold the process.
        setTimeout(resolve, 200).unref();
      });
      await removeSocket(bound);
    },
  };
}

/** One request to a running process's admin socket (what `critap fault` does). */
export function adminRequest(where: string, req: AdminRequest, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const endpoint = parseEndpoint(where);
  return new Promise((resolve, reject) => {
    const socket = endpoint.kind === 'unix' ? net.connect(endpoint.path) : net.connect(endpoint.port, endpoint.host);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from the admin socket ${where} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(req) + '\n'));
    socket.on('data', (c: string) => {
      buf += c;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      } catch {
        reject(new Error(`the admin socket ${where} answered something that is not JSON`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach the admin socket ${where}: ${err.code ?? err.message} (is critap proxy/replay running with --admin ${where}?)`));
    });
  });
}
