/**
 * The real containerd, started the way the e2e tests start it (test/support/runtime.ts). When
 * this machine cannot run it, the reason is reported and the fake-runtime scenarios still run.
 */
import { missingTools, startRealRuntime, type RealRuntime } from '../test/support/runtime.js';

export async function startContainerdOrReason(enabled: boolean): Promise<{ runtime?: RealRuntime; skipped?: string }> {
  if (!enabled) return { skipped: 'disabled by --no-containerd' };
  if (process.platform !== 'linux') return { skipped: `platform is ${process.platform}; containerd needs linux` };
  if (process.getuid?.() !== 0) return { skipped: 'not running as root (containerd and runc need root)' };
  const missing = missingTools();
  if (missing.length) return { skipped: `missing ${missing.join(', ')} (scripts/setup-runtime.sh installs them)` };
  try {
    return { runtime: await startRealRuntime() };
  } catch (err) {
    return { skipped: `containerd could not be started: ${(err as Error).message.split('\n')[0]}` };
  }
}
