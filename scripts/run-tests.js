#!/usr/bin/env node
// Runs every compiled test file with node's own test runner (its summary closes the output).
// Usage: node scripts/run-tests.js [unit|integration|e2e ...]  — default: all three.
// Test files are listed explicitly so this works the same on Node 20 (no globs) and later.
import { readdirSync, statSync } from 'node:fs';
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
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
