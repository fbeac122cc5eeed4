#!/usr/bin/env node
// Runs every compiled test file with node's own test runner: node's spec reporter (a readable
// line per test) on stdout, closed by scripts/test-summary-reporter.js: one line per file, the
// failed tests' names, node's own totals (`# pass N` / `# fail N`) and `N passed, N failed`.
// Usage: node scripts/run-tests.js [unit|integration|e2e|load ...]  — default: unit, integration, e2e.
// Test files are listed explicitly so this works the same on Node 20 (no globs) and later.
// CRITAP_TEST_REPORTER=tap gives the raw TAP on stdout instead.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const kinds = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];
const files = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
}
for (const kind of kinds) walk(join('dist', 'test', kind));
if (files.length === 0) {
  console.error(`no test files found under dist/test/{${kinds.join(',')}}; did the build run?`);
  process.exit(1);
}
const concurrency = process.env.CRITAP_TEST_CONCURRENCY ?? '2';
const base = ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000'];
if (process.env.CRITAP_TEST_REPORTER === 'tap') {
  const raw = spawnSync(process.execPath, [...base, '--test-reporter=tap', ...files], { stdio: 'inherit' });
  process.exit(raw.status ?? 1);
}

// The summary goes to a file and is printed once node has exited, so it is surely the last thing.
const summaryDir = mkdtempSync(join(tmpdir(), 'critap-test-summary-'));
const summaryFile = join(summaryDir, 'summary.txt');
const reporter = new URL('./test-summary-reporter.js', import.meta.url).pathname;
const result = spawnSync(
  process.execPath,
  [...base, '--test-reporter=spec', '--test-reporter-destination=stdout', `--test-reporter=${reporter}`, `--test-reporter-destination=${summaryFile}`, ...files],
  { stdio: 'inherit' },
);
let summary = '';
try {
  summary = readFileSync(summaryFile, 'utf8');
} catch {
  // the runner died before its reporters finished: said below
}
rmSync(summaryDir, { recursive: true, force: true });
process.stdout.write(summary);
const status = result.status ?? 1;
if (!/^\d+ passed, \d+ failed$/m.test(summary)) {
  console.log(`test totals unknown (the runner ended with ${result.signal ?? `exit ${status}`} before its summary)`);
  process.exit(status === 0 ? 1 : status);
}
process.exit(status);
