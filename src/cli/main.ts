import { HelpRequested, UsageError } from './args.js';
import { VERSION } from '../version.js';
import { didYouMean } from '../cri/suggest.js';
import { COMMANDS } from './commands.js';

/**
 * Every command module exports `command`. Modules load lazily (see commands.ts) so `critap ls`
 * never pays for gRPC and `critap --help` loads no command at all.
 */
export interface Command {
  /** Full --help text, with examples a user can paste. */
  help: string;
  run(argv: string[]): Promise<number>;
}

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`);
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
    process.stdout.write(topHelp());
    if (name === undefined) process.exitCode = 2;
    return;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`critap ${VERSION}\n`);
    return;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    process.stderr.write(`critap: unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))}. Commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const { command } = await entry.load();
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
