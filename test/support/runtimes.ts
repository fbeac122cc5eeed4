/**
 * One shape for both real runtimes, so a test names the runtime and runs against either:
 * `const rt = await runtimeOrSkip(t, 'crio')`.
 */
import type { TestContext } from 'node:test';
import { crioRuntimeOrSkip, type CrioRuntime } from './crio.js';
import { realRuntimeOrSkip, type RealRuntime } from './runtime.js';

export type RuntimeKind = 'containerd' | 'crio';
export const RUNTIME_KINDS: readonly RuntimeKind[] = ['containerd', 'crio'];

/** What every harness offers; `kind` tells containerd's extras (ctr, restart) from CRI-O's (env). */
export type CriRuntime = RealRuntime | CrioRuntime;

/** Common part, for code that must not care which runtime it has. */
export type AnyRuntime = Pick<CriRuntime, 'kind' | 'endpoint' | 'socketPath' | 'dir' | 'logFile' | 'sandboxImage' | 'registry' | 'authRegistry' | 'tagImage' | 'stop'>;

export function runtimeOrSkip(t: TestContext, kind: 'containerd'): Promise<RealRuntime | undefined>;
export function runtimeOrSkip(t: TestContext, kind: 'crio'): Promise<CrioRuntime | undefined>;
export function runtimeOrSkip(t: TestContext, kind: RuntimeKind): Promise<CriRuntime | undefined>;
export function runtimeOrSkip(t: TestContext, kind: RuntimeKind): Promise<CriRuntime | undefined> {
  return kind === 'crio' ? crioRuntimeOrSkip(t) : realRuntimeOrSkip(t);
}
