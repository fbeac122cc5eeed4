/**
 * The `cli-startup` scenario: how long the read-only commands take from `node bin/critap.js …`
 * to exit, on the shipped recording, wall time and CPU time (user + system) of the process.
 *
 * Each run goes through bash: `$EPOCHREALTIME` around the command gives its wall time without
 * bash's own start-up, and `times` gives the CPU time of the finished child (getrusage), which
 * varies less than wall time on a shared machine. `node -e 0` is measured the same way: Node's
 * own start-up, the floor under every figure here.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../src/cri/schema-files.js';
import { median } from './stats.js';

export const STARTUP_TARGET_MS = 250;

const RECORDING = 'recordings/seed-walkthrough';

/** What is measured, in the order shown; `target` marks the commands the ≤ 250 ms goal is about. */
const COMMANDS: { label: string; argv: (bin: string) => string[]; target: boolean }[] = [
  { label: 'node -e 0 (Node.js alone)', argv: () => ['node', '-e', '0'], target: false },
  { label: 'critap --help', argv: (bin) => ['node', bin, '--help'], target: true },
  { label: 'critap version', argv: (bin) => ['node', bin, 'version'], target: true },
  { label: `critap ls ${RECORDING}`, argv: (bin) => ['node', bin, 'ls', RECORDING], target: true },
  { label: `critap show ${RECORDING} --limit 20`, argv: (bin) => ['node', bin, 'show', RECORDING, '--limit', '20'], target: true },
  { label: `critap stats ${RECORDING}`, argv: (bin) => ['node', bin, 'stats', RECORDING], target: true },
  { label: 'npx critap --help', argv: () => ['npx', '--offline', 'critap', '--help'], target: false },
];

export interface StartupCommand {
  label: string;
  target: boolean;
  wallMs: number[];
  cpuMs: number[];
  medianWallMs?: number;
  medianCpuMs?: number;
  failure?: string;
}

export interface StartupRun {
  runsPerCommand: number;
  npxRuns: number;
  commands: StartupCommand[];
}

// The command's stdout goes nowhere; its stderr comes back for a failure's message.
const TIMED = 't0=$EPOCHREALTIME; "$@" >/dev/null; rc=$?; t1=$EPOCHREALTIME; echo "$t0 $t1 $rc"; times';

interface OneRun {
  wallMs: number;
  cpuMs: number;
}

function runOnce(argv: string[], cwd: string): Promise<OneRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', TIMED, 'bash', ...argv], { cwd, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const [stamp, , children] = out.trim().split('\n');
      const [t0, t1, rc] = (stamp ?? '').split(' ');
      // `times` prints the shell's own user/system time, then its children's: "0m0.120s 0m0.024s".
      const cpu = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(children ?? '');
      if (rc !== '0') return reject(new Error(`${argv.join(' ')} exited ${rc ?? '?'}: ${err.trim().split('\n')[0] ?? ''}`));
      if (!cpu || t0 === undefined || t1 === undefined) return reject(new Error(`cannot read the timing of ${argv.join(' ')}: ${JSON.stringify(out)}`));
      const seconds = (m: string, s: string) => Number(m) * 60 + Number(s);
      resolve({ wallMs: (Number(t1) - Number(t0)) * 1000, cpuMs: (seconds(cpu[1]!, cpu[2]!) + seconds(cpu[3]!, cpu[4]!)) * 1000 });
    });
  });
}

/** Runs every command `runs` times (npx fewer: it costs seconds), interleaved so drift hits all alike. */
export async function runStartup(opts: { smoke: boolean; log: (msg: string) => void }): Promise<StartupRun> {
  const root = packageRoot();
  const bin = join(root, 'bin', 'critap.js');
  const runs = opts.smoke ? 3 : 7;
  const npxRuns = opts.smoke ? 1 : 3;
  const commands: StartupCommand[] = COMMANDS.map((c) => ({ label: c.label, target: c.target, wallMs: [], cpuMs: [] }));
  for (let r = 0; r < runs; r++) {
    for (const [i, def] of COMMANDS.entries()) {
      const cmd = commands[i]!;
      const isNpx = def.argv(bin)[0] === 'npx';
      if (cmd.failure || (isNpx && r >= npxRuns)) continue;
      try {
        const one = await runOnce(def.argv(bin), root);
        cmd.wallMs.push(one.wallMs);
        cmd.cpuMs.push(one.cpuMs);
      } catch (err) {
        cmd.failure = (err as Error).message;
      }
    }
  }
  for (const c of commands) {
    if (c.wallMs.length > 0) {
      c.medianWallMs = median(c.wallMs);
      c.medianCpuMs = median(c.cpuMs);
    }
    opts.log(`cli-startup ${c.label}: ${c.failure ? `FAILED ${c.failure}` : `median ${c.medianWallMs!.toFixed(0)} ms wall, ${c.medianCpuMs!.toFixed(0)} ms CPU over ${c.wallMs.length} runs`}`);
  }
  return { runsPerCommand: runs, npxRuns, commands };
}

export function renderStartup(run: StartupRun): string {
  const width = Math.max(...run.commands.map((c) => c.label.length));
  const lines = [
    `CLI start-up, from the package folder (median of ${run.runsPerCommand} runs, npx ${run.npxRuns}; wall and CPU = user + system ms):`,
    `  ${'command'.padEnd(width)}  ${'wall'.padStart(6)}  ${'CPU'.padStart(6)}  range (wall)`,
  ];
  for (const c of run.commands) {
    if (c.failure) {
      lines.push(`  ${c.label.padEnd(width)}  failed: ${c.failure}`);
      continue;
    }
    const range = `${Math.min(...c.wallMs).toFixed(0)}–${Math.max(...c.wallMs).toFixed(0)}`;
    lines.push(`  ${c.label.padEnd(width)}  ${c.medianWallMs!.toFixed(0).padStart(6)}  ${c.medianCpuMs!.toFixed(0).padStart(6)}  ${range}`);
  }
  const targeted = run.commands.filter((c) => c.target);
  const slow = targeted.filter((c) => c.failure || c.medianWallMs! > STARTUP_TARGET_MS);
  lines.push(
    slow.length === 0
      ? `  target: --help, version, ls, show, stats each ≤ ${STARTUP_TARGET_MS} ms wall (median): met`
      : `  target: --help, version, ls, show, stats each ≤ ${STARTUP_TARGET_MS} ms wall (median): NOT met by ${slow.map((c) => c.label.replace(/^critap /, '').split(' ')[0]).join(', ')}`,
  );
  return lines.join('\n');
}
