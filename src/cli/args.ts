import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how a command was called: printed with a hint, exit code 2. */
export class UsageError extends Error {}

/** Raised for --help: the command's help text is printed and the exit code is 0. */
export class HelpRequested extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
/** The parsed flags; spelled out so declaration files can name it. */
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/**
 * Strict flag parsing on top of node:util parseArgs: an unknown flag or a missing value is a
 * UsageError naming the flag, never a silent ignore.
 */
export function parseCommandArgs<O extends Options>(argv: string[], options: O): Parsed<O> {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested();
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new UsageError(msg.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

export function intFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !Number.isInteger(n) || n < 0) throw new UsageError(`--${name} wants a whole number, got "${value}"`);
  return n;
}

/** Durations like 500ms, 30s, 5m, 2h, 7d; a bare number is seconds. Returns milliseconds. */
export function durationFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new UsageError(`--${name} wants a duration like 30s, 5m, 2h or 7d, got "${value}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms'];
  return Number(m[1]) * unit;
}

/** Sizes like 512K, 64M, 2G (powers of 1024); a bare number is bytes. */
export function sizeFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?$/i.exec(value.trim());
  if (!m) throw new UsageError(`--${name} wants a size like 512M or 2G, got "${value}"`);
  const u = (m[2] ?? 'B').toUpperCase()[0]!;
  const mult = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[u as 'B'];
  return Math.floor(Number(m[1]) * mult);
}
