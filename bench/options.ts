/** `npm run bench -- [flags]`: flags and their defaults. */
import { intFlag, parseCommandArgs, UsageError } from '../src/cli/args.js';
import { ALL_VARIANTS, DEFAULT_VARIANTS, type VariantId } from './variants.js';

export interface BenchOptions {
  smoke: boolean;
  rounds: number;
  clients: number;
  json?: string;
  only?: string[];
  variants: VariantId[];
  containerd: boolean;
  profileDir?: string;
}

export const HELP = `critap benchmark: critap's cost beside a direct runtime connection, as ratios.

Usage: npm run bench -- [flags]      (or: node dist/bench/run.js [flags])

Every scenario is run against each variant in turn (direct, socat as the floor, a Node byte pipe
as Node's own floor, critap bare, + recording, + recording + tracing, replay), interleaved over
several rounds; the table shows medians, the median of the per-round ratios to direct and to the
floor (socat, a byte pipe no proxy can beat), and µs of CPU per call of the proxy (critap by thread), the runtime and the
clients, read from /proc over each measured round. Targets are reported as met / not met; the
benchmark itself never fails because the machine is slow.

Clients: the throughput scenarios (calls in flight, big answers, the event stream) use the cheap
h2 client (bench/h2-load: pre-encoded frames written straight to the socket, a few µs of CPU per
call), so the servers and not the client set the figures. The Version throughput scenarios also run
with grpc-js as a real client's view: fake-version-throughput-grpcjs, containerd-version-throughput-grpcjs.
The latency scenarios (1 in flight) use grpc-js. Every scenario reports the client's CPU per call.

Flags:
  --smoke            tiny counts, 1 round: proves the benchmark works (CI)
  --rounds N         rounds of interleaved variants (default 5; 1 with --smoke); the Version scenarios the
                     targets are judged on (latency, and 64 in flight with the h2 client) run at least 6
  --clients N        client worker processes for the in-flight scenarios (default 2)
  --json FILE        also write every figure, per round, with machine info
  --only IDS         comma-separated scenario ids (e.g. fake-version-latency,recorder,replay-choice,replay-load,idle-rss,cli-startup)
  --variants IDS     comma-separated subset of: ${ALL_VARIANTS.join(', ')}
                     (default: ${DEFAULT_VARIANTS.join(', ')})
  --no-containerd    skip the real-runtime scenarios
  --profile DIR      run critap processes under node --cpu-prof: DIR/<scenario>-r<round>-<variant>/, one profile per thread

Examples:
  npm run bench -- --smoke
  npm run bench -- --rounds 7 --json /tmp/bench.json
  npm run bench -- --only fake-version-throughput --variants direct,record-trace --profile /tmp/prof
`;

function list(flag: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`--${flag} wants a comma-separated list, got "${value}"`);
  return items;
}

export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values, positionals } = parseCommandArgs(argv, {
    smoke: { type: 'boolean' },
    rounds: { type: 'string' },
    clients: { type: 'string' },
    json: { type: 'string' },
    only: { type: 'string' },
    variants: { type: 'string' },
    'no-containerd': { type: 'boolean' },
    profile: { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const smoke = values.smoke === true;
  const rounds = intFlag('rounds', values.rounds, smoke ? 1 : 5);
  if (rounds < 1) throw new UsageError('--rounds wants at least 1');
  const clients = intFlag('clients', values.clients, 2);
  if (clients < 1 || clients > 16) throw new UsageError('--clients wants 1 to 16');
  const variants = (list('variants', values.variants) ?? DEFAULT_VARIANTS) as VariantId[];
  for (const v of variants) if (!ALL_VARIANTS.includes(v)) throw new UsageError(`unknown variant "${v}"; variants: ${ALL_VARIANTS.join(', ')}`);
  if (!variants.includes('direct')) variants.unshift('direct'); // ratios need it
  return {
    smoke,
    rounds,
    clients,
    json: values.json,
    only: list('only', values.only),
    variants,
    containerd: values['no-containerd'] !== true,
    profileDir: values.profile,
  };
}
