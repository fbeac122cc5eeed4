/**
 * Where the end-to-end tests find the real CRI binaries they drive: an environment variable
 * when set (a user's own kubelet or crio), else `../shared/bin/<name>` beside the checkout
 * when that exists. A missing binary skips the test loudly, naming the binary and the
 * variable; under CI=true it fails the test instead, so CI never passes by skipping.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { repoRoot } from './paths.js';

export type BinaryName = 'crio' | 'pinns' | 'kubelet' | 'crictl' | 'critest';

/** The variable that points at each binary, and its file name in ../shared/bin. */
export const BINARIES: Record<BinaryName, { env: string; file: string }> = {
  crio: { env: 'CRITAP_TEST_CRIO', file: 'crio' },
  pinns: { env: 'CRITAP_TEST_PINNS', file: 'pinns' },
  kubelet: { env: 'CRITAP_TEST_KUBELET', file: 'kubelet' },
  crictl: { env: 'CRITAP_TEST_CRICTL', file: 'crictl' },
  critest: { env: 'CRITAP_TEST_CRITEST', file: 'critest.test' },
};

/** `../shared/bin` beside the checkout (also beside a worktree of it), or CRITAP_TEST_BIN_DIR. */
export function sharedBinDir(): string {
  return process.env.CRITAP_TEST_BIN_DIR ?? resolve(repoRoot(), '..', 'shared', 'bin');
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary's path, or why it cannot be had (which variable to set). */
export function findBinary(name: BinaryName): { path: string } | { missing: string } {
  const { env, file } = BINARIES[name];
  const fromEnv = process.env[env];
  if (fromEnv) {
    return executable(fromEnv) ? { path: fromEnv } : { missing: `${env}=${fromEnv} is not an executable file` };
  }
  const shared = join(sharedBinDir(), file);
  if (executable(shared)) return { path: shared };
  const where = existsSync(dirname(shared)) ? `${shared} is missing` : `${dirname(shared)} does not exist`;
  return { missing: `${name} not found: set ${env} to its path (${where})` };
}

/**
 * For node:test: the paths of the named binaries, or a loud skip (a failure under CI=true)
 * naming every one that is missing.
 */
export function binariesOrSkip<N extends BinaryName>(t: TestContext, ...names: N[]): Record<N, string> | undefined {
  const found = {} as Record<N, string>;
  const missing: string[] = [];
  for (const n of names) {
    const r = findBinary(n);
    if ('path' in r) found[n] = r.path;
    else missing.push(r.missing);
  }
  if (missing.length === 0) return found;
  const reason = missing.join('; ');
  if (process.env.CI === 'true') throw new Error(`critap: a binary the e2e tests need is missing in CI: ${reason}`);
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!! SKIPPING "${t.name}": ${reason}\n${bar}\n`);
  t.skip(reason);
  return undefined;
}
