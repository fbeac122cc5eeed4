/**
 * The benchmark's processes talk over Node's IPC channel: each child announces itself with a
 * `ready` message, and answers a `stop` message with `stopped` (its final figures) before exiting.
 * Keeping critap, the runtime and the client in separate processes keeps their CPU apart.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the next message of this type (rejects if the child exits first). */
  next<T = Record<string, unknown>>(type: string, timeoutMs?: number): Promise<T>;
  send(msg: Record<string, unknown>): void;
  /** Sends `stop`, waits for `stopped` (or gives up after timeoutMs and kills it). */
  stop(timeoutMs?: number): Promise<Record<string, unknown> | undefined>;
  kill(): void;
}

type Msg = Record<string, unknown> & { type: string };

export function benchModule(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
}

/** Starts `dist/bench/<module>` as a child with an IPC channel and waits for its `ready` message. */
export async function startChild(
  module: string,
  args: unknown,
  opts: { execArgv?: string[]; readyTimeoutMs?: number; label: string },
): Promise<{ child: Child; ready: Record<string, unknown> }> {
  const proc = fork(benchModule(module), [JSON.stringify(args)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: opts.execArgv ?? [],
  });
  const inbox: Msg[] = [];
  const waiters: Array<{ type: string; resolve: (m: Msg) => void; reject: (e: Error) => void }> = [];
  let exitNote: string | undefined;
  proc.on('message', (m: Msg) => {
    if (m && m.type === 'error') {
      const err = new Error(`critap: bench ${opts.label} failed: ${String(m.message)}`);
      for (const w of waiters.splice(0)) w.reject(err);
      exitNote = String(m.message);
      return;
    }
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
    else inbox.push(m);
  });
  proc.on('exit', (code, sig) => {
    exitNote ??= `exited (${sig ?? `code ${code}`})`;
    const err = new Error(`critap: bench ${opts.label} ${exitNote}`);
    for (const w of waiters.splice(0)) w.reject(err);
  });
  const next = <T>(type: string, timeoutMs = 600_000): Promise<T> => {
    const i = inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0] as T);
    if (exitNote) return Promise.reject(new Error(`critap: bench ${opts.label} ${exitNote}`));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const k = waiters.indexOf(waiter);
        if (k >= 0) waiters.splice(k, 1);
        reject(new Error(`critap: bench ${opts.label} sent no "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        type,
        resolve: (m: Msg) => (clearTimeout(timer), resolve(m as T)),
        reject: (e: Error) => (clearTimeout(timer), reject(e)),
      };
      waiters.push(waiter);
    });
  };
  const child: Child = {
    process: proc,
    pid: proc.pid ?? 0,
    next,
    send: (msg) => {
      if (proc.connected) proc.send(msg);
    },
    async stop(timeoutMs = 60_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return undefined;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      child.send({ type: 'stop' });
      let figures: Record<string, unknown> | undefined;
      try {
        figures = await next('stopped', timeoutMs);
      } catch {
        proc.kill('SIGKILL');
      }
      await exited;
      return figures;
    },
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
  try {
    const ready = await next<Record<string, unknown>>('ready', opts.readyTimeoutMs ?? 60_000);
    return { child, ready };
  } catch (err) {
    child.kill();
    throw err;
  }
}

/** A kB field of a live process's /proc/<pid>/status: VmRSS (resident now), VmHWM (its peak). */
export function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`critap: bench: no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Peak resident set size (VmHWM) of a live process, in bytes; undefined if it cannot be read. */
export function peakRss(pid: number): number | undefined {
  try {
    return procStatusKb(pid, 'VmHWM') * 1024;
  } catch {
    return undefined;
  }
}

/** For child modules: the JSON argument, IPC helpers and a uniform way to report failure. */
export function childArgs<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error('critap: bench child started without its JSON argument');
  return JSON.parse(raw) as T;
}

export function tell(msg: Record<string, unknown> & { type: string }): void {
  process.send?.(msg);
}

export function onParentMessage(handler: (msg: Msg) => void | Promise<void>): void {
  process.on('message', (m: Msg) => {
    Promise.resolve(handler(m)).catch((err: unknown) => failChild(err));
  });
  // The parent died: nothing will ever tell us to stop.
  process.on('disconnect', () => process.exit(0));
}

/** Tells the parent what went wrong, then exits (a child must never hang the benchmark). */
export function failChild(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  tell({ type: 'error', message });
  process.stderr.write(`${message}\n`);
  setTimeout(() => process.exit(1), 50);
}
