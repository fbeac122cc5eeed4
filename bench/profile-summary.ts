/**
 * `node dist/bench/profile-summary.js FILE.cpuprofile…`: where a critap process spent its CPU,
 * from profiles written by `npm run bench -- --profile DIR`. Self time is summed per function
 * and per source area (critap's own folders, node internals, each npm package, GC, idle).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Groups a script URL into something a reader can act on. */
export function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)') return fn;
  if (!url) return '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/dist\/(src\/[^/]+|bench|test)\//.exec(url);
  return own ? own[1]! : url;
}

export function summarizeProfile(profile: CpuProfile): { totalMs: number; byArea: Map<string, number>; byFunction: Map<string, number> } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = nodes.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    totalMs += ms;
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
    const file = url.split('/').slice(-2).join('/');
    const key = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
  });
  return { totalMs, byArea, byFunction };
}

function top(map: Map<string, number>, total: number, n: number): string {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, ms]) => `  ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(7)} ms  ${k}`)
    .join('\n');
}

function main(files: string[]): number {
  if (files.length === 0) {
    process.stderr.write('critap: usage: node dist/bench/profile-summary.js FILE.cpuprofile…\n');
    return 2;
  }
  for (const file of files) {
    let profile: CpuProfile;
    try {
      profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    } catch (err) {
      process.stderr.write(`critap: cannot read profile ${file}: ${(err as Error).message}\n`);
      return 1;
    }
    const s = summarizeProfile(profile);
    const busy = s.totalMs - (s.byArea.get('(idle)') ?? 0);
    process.stdout.write(`${file}: ${s.totalMs.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms busy\n`);
    process.stdout.write(`by area (share of all samples):\n${top(s.byArea, s.totalMs, 12)}\n`);
    process.stdout.write(`top functions by self time:\n${top(s.byFunction, s.totalMs, 20)}\n\n`);
  }
  return 0;
}

// Run only as a script, so tests can import the summariser.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
