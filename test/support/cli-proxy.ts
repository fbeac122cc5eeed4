/**
 * `critap proxy` as a user runs it: the real CLI in a child process. Resolves once its JSON start
 * line says it listens; `stop()` sends SIGTERM and waits for the exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const CRITAP_BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));

export interface CliProxy {
  child: ChildProcess;
  endpoint: string;
  started: Record<string, unknown>;
  log: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startCliProxy(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliProxy> {
  const child = spawn(process.execPath, [CRITAP_BIN, 'proxy', '--log-json', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const log: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log.push(line);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry['msg'] === 'critap proxy started') resolve(entry);
      } catch {
        // plain text (an error before logging started): kept for the message below
      }
    });
    void exited.then((code) => reject(new Error(`critap proxy exited with ${code} before starting:\n${log.join('\n')}`)));
  });
  return {
    child,
    endpoint: String(started['listen']),
    started,
    log,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface CliReplay {
  child: ChildProcess;
  log: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `critap replay <recording> …` as a user runs it; resolves once it logs that it started.
 * `bin`: another build's bin/critap.js (the benchmark sets builds side by side).
 */
export async function startCliReplay(recording: string, args: string[], opts: { bin?: string; startTimeoutMs?: number } = {}): Promise<CliReplay> {
  const child = spawn(process.execPath, [opts.bin ?? CRITAP_BIN, 'replay', recording, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const startTimeoutMs = opts.startTimeoutMs ?? 15_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`critap replay did not start within ${startTimeoutMs / 1000} s:\n${log.join('\n')}`)), startTimeoutMs);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log.push(line);
      if (line.includes('critap replay started')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`critap replay exited with ${code} before starting:\n${log.join('\n')}`));
    });
  });
  return {
    child,
    log,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
