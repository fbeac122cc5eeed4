/** Shared bits of the replay integration tests: the shipped recordings and their recorded calls. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StoredCall } from '../../src/record/stored-call.js';
import { loadRecordingCalls } from '../../src/replay/load.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const SEED = fileURLToPath(new URL('../../../recordings/seed-walkthrough', import.meta.url));
export const EVENTS = fileURLToPath(new URL('../../../recordings/container-events-synthetic', import.meta.url));
export const BIN = fileURLToPath(new URL('../../../bin/critap.js', import.meta.url));

export const V1 = '/runtime.v1.RuntimeService/';
export const IMG = '/runtime.v1.ImageService/';

const cache = new Map<string, StoredCall[]>();

export async function recordedCalls(dir: string): Promise<StoredCall[]> {
  let calls = cache.get(dir);
  if (!calls) {
    calls = await loadRecordingCalls(dir);
    cache.set(dir, calls);
  }
  return calls;
}

/** The first recorded call of a method (full path or bare name). */
export async function recordedCall(dir: string, method: string): Promise<StoredCall> {
  const c = (await recordedCalls(dir)).find((x) => x.method === method || x.method.endsWith(`/${method}`));
  if (!c) throw new Error(`test setup: ${dir} has no ${method}`);
  return c;
}

/** `git status --porcelain` of the shipped recordings: empty when nothing modified them. */
export function recordingsGitStatus(): string | undefined {
  try {
    return execFileSync('git', ['status', '--porcelain', '--', 'recordings'], { cwd: REPO, encoding: 'utf8' });
  } catch {
    return undefined; // not a git checkout (a package install): nothing to check
  }
}
