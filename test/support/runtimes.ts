/**
 * One shape for both real runtimes, so a test names the runtime and runs against either:
 * `const rt = await runtimeOrSkip(t, 'crio')`.
 */
import type { TestContext } from 'node:test';
import { crioRuntimeOrSkip, type CrioRuntime } from './crio.js';
import { realRuntimeOrSkip, type RealRuntime, type StartOptions } from './runtime.js';

export type RuntimeKind = 'containerd' | 'crio';
export const RUNTIME_KINDS: readonly RuntimeKind[] = ['containerd', 'crio'];

/** What every harness offers; `kind` tells containerd's extras (ctr, restart) from CRI-O's (env). */
export type CriRuntime = RealRuntime | CrioRuntime;

/** Common part, for code that must not care which runtime it has. */
export type AnyRuntime = Pick<CriRuntime, 'kind' | 'endpoint' | 'socketPath' | 'dir' | 'logFile' | 'sandboxImage' | 'registry' | 'authRegistry' | 'tagImage' | 'stop'>;

/** `containerd` options (extra runtime handlers) apply to containerd only. */
export function runtimeOrSkip(t: TestContext, kind: 'containerd', containerd?: StartOptions): Promise<RealRuntime | undefined>;
export function runtimeOrSkip(t: TestContext, kind: 'crio'): Promise<CrioRuntime | undefined>;
export function runtimeOrSkip(t: TestContext, kind: RuntimeKind, containerd?: StartOptions): Promise<CriRuntime | undefined>;
export function runtimeOrSkip(t: TestContext, kind: RuntimeKind, containerd: StartOptions = {}): Promise<CriRuntime | undefined> {
  return kind === 'crio' ? crioRuntimeOrSkip(t) : realRuntimeOrSkip(t, containerd);
}
