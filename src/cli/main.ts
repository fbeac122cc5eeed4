import { HelpRequested, UsageError } from './args.js';
import { VERSION } from '../version.js';
import { didYouMean } from '../cri/suggest.js';

/** Every command module exports `command`. Modules load lazily so `critap ls` never pays for gRPC. */
export interface Command {
  summary: string;
  /** Full --help text, with examples a user can paste. */
  help: string;
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<{ command: Command }>> = {
  proxy: () => import('./proxy.js'),
  version: () => import('./version.js'),
  ls: () => import('./ls.js'),
  show: () => import('./show.js'),
  stats: () => import('./stats.js'),
  report: () => import('./report.js'),
  diff: () => import('./diff.js'),
  export: () => import('./export.js'),
  import: () => import('./import.js'),
  replay: () => import('./replay.js'),
  call: () => import('./call.js'),
  fault: () => import('./fault.js'),
};

function topHelp(summaries: Record<string, string>): string {
  const width = Math.max(...Object.keys(summaries).map((k) => k.length));
  const lines = Object.entries(summaries).map(([k, s]) => `  ${k.padEnd(width)}  ${s}`);
  return `critap ${VERSION}: record/replay proxy and tracer for the Kubernetes CRI

Usage: critap <command> [flags]

Commands:
${lines.join('\n')}

Run 'critap <command> --help' for a command's flags and examples.
`;
}

export async function main(argv: string[]): Promise<void> {
  const [first, ...afterFirst] = argv;
  // `critap help show` is `critap show --help`.
  const helpFor = first === 'help' && afterFirst.length > 0 ? afterFirst[0] : undefined;
  const name = helpFor ?? first;
  const rest = helpFor !== undefined ? ['--help'] : afterFirst;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const summaries: Record<string, string> = {};
    for (const [k, load] of Object.entries(commands)) summaries[k] = (await load()).command.summary;
    process.stdout.write(topHelp(summaries));
    if (name === undefined) process.exitCode = 2;
    return;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`critap ${VERSION}\n`);
    return;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`critap: unknown command "${name}"${didYouMean(name, Object.keys(commands))}. Commands: ${Object.keys(commands).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const { command } = await load();
  try {
    process.exitCode = await command.run(rest);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(command.help);
      process.exitCode = 0;
    } else if (err instanceof UsageError || (err as { usage?: unknown } | null)?.usage === true) {
      const msg = (err as Error).message.replace(/^critap:\s*/, '');
      process.stderr.write(`critap ${name}: ${msg}\nRun 'critap ${name} --help' for usage.\n`);
      process.exitCode = 2;
    } else {
      // Library errors carry their own 'critap:' prefix; the command name says it already.
      const msg = (err instanceof Error ? err.message : String(err)).replace(/^critap:\s*/, '');
      process.stderr.write(`critap ${name}: ${msg}\n`);
      if (process.env['CRITAP_DEBUG']) console.error(err);
      process.exitCode = 1;
    }
  }
}
