/**
 * A privileged pod with one busybox `sleep` container, started through any CRI client: what the
 * harness tests leave running to prove the cleanup takes it down. Privileged, so CRI-O asks for
 * every capability it knows (the runc wrapper must fit them) besides -998 for the infra container.
 */
import { join } from 'node:path';
import type { CriClient } from './cri-client.js';

export async function runPrivilegedSleeper(cri: CriClient, dir: string, image: string): Promise<{ podId: string; containerId: string }> {
  const podConfig = {
    metadata: { name: 'harness', uid: 'critap-harness-uid', namespace: 'critap', attempt: 0 },
    log_directory: join(dir, 'harness-logs'),
    linux: { security_context: { privileged: true } },
  };
  const { pod_sandbox_id: podId } = await cri.runtime('RunPodSandbox', { config: podConfig });
  const { container_id: containerId } = await cri.runtime('CreateContainer', {
    pod_sandbox_id: podId,
    config: {
      metadata: { name: 'sleeper', attempt: 0 },
      image: { image },
      command: ['sleep', '3600'],
      log_path: 'sleeper.log',
      linux: { security_context: { privileged: true } },
    },
    sandbox_config: podConfig,
  });
  await cri.runtime('StartContainer', { container_id: containerId });
  return { podId, containerId };
}
