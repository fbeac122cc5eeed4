import { UsageError } from '../cli/args.js';
import { intFlag } from '../cli/args.js';
import type { CallFilter } from './reader.js';
import { parseSince } from './time.js';
import { checkMethodPattern } from '../cri/method-pattern.js';

/** The call-selection flags shared by `show` and `export`, for parseCommandArgs. */
export const FILTER_FLAGS = {
  method: { type: 'string' },
  pod: { type: 'string' },
  container: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
} as const;

export const FILTER_HELP = `  --method M        only this method: full path, Service/Method or bare name (PullImage;
                    case does not matter)
  --pod NAME        only this pod's calls: name, namespace/name, pod UID or sandbox id (prefix ok)
  --container ID    only this container's calls: id (prefix ok) or name
  --since T         only calls that started at/after T: 10m, 2h, 2026-11-27T10:00:00Z, or ns
  --until T         only calls that started at/before T (same forms as --since)
  --limit N         at most N calls`;

type FilterValues = { method?: string; pod?: string; container?: string; since?: string; until?: string; limit?: string };

export function filterFromFlags(values: FilterValues): CallFilter {
  const f: CallFilter = {};
  if (values.method !== undefined) {
    checkMethodPattern(values.method, '--method');
    f.method = values.method;
  }
  if (values.pod !== undefined) f.pod = values.pod;
  if (values.container !== undefined) f.container = values.container;
  if (values.since !== undefined) {
    const ns = parseSince(values.since);
    if (ns === undefined) throw new UsageError(`--since wants a duration (10m), an ISO time (2026-11-27T10:00:00Z) or ns since the epoch, got "${values.since}"`);
    f.sinceNs = ns;
  }
  if (values.until !== undefined) {
    const ns = parseSince(values.until);
    if (ns === undefined) throw new UsageError(`--until wants a duration (10m), an ISO time (2026-11-27T10:00:00Z) or ns since the epoch, got "${values.until}"`);
    f.untilNs = ns;
  }
  if (values.limit !== undefined) f.limit = intFlag('limit', values.limit, 0);
  return f;
}

/** The filter flags the user gave, as typed, for "no calls match …" (empty when none was given). */
export function describeFilter(values: Omit<FilterValues, 'limit'>): string {
  return (['method', 'pod', 'container', 'since', 'until'] as const)
    .filter((k) => values[k] !== undefined)
    .map((k) => `--${k} ${values[k]!}`)
    .join(' ');
}

/** An empty result of a filter is said on stderr, so a typo'd pod name does not look like "nothing happened". */
export function noMatchNote(command: string, dir: string, count: number, values: Omit<FilterValues, 'limit'>): void {
  const filter = describeFilter(values);
  if (count === 0 && filter !== '') process.stderr.write(`critap ${command}: no calls in ${dir} match ${filter}\n`);
}
