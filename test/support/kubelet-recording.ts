/**
 * What a replay test needs to run a kubelet against recordings/kubelet-static-pod as the
 * recorded kubelet ran: the same node name and manifest (static-pod.ts), and the image
 * reference the recorded kubelet used (its registry's port was chosen at recording time).
 */
import { callView } from '../../src/record/call-view.js';
import { openRecording } from '../../src/record/index.js';

/**
 * The containers' image the recorded kubelet used, to write the identical manifest: what it
 * pulled, or else the first ImageStatus with the pod's annotations (the kubelet asks for the
 * sandbox image too, without them).
 */
export async function recordedStaticPodImage(recordingDir: string): Promise<string> {
  const rec = await openRecording(recordingDir);
  let asked: string | undefined;
  try {
    for await (const call of rec.calls()) {
      if (!/\/(ImageStatus|PullImage)$/.test(call.method)) continue;
      const spec = (callView(call).request as { image?: { image?: string; annotations?: Record<string, string> } } | undefined)?.image;
      if (!spec?.image) continue;
      if (call.method.endsWith('/PullImage')) return spec.image;
      if (!asked && spec.annotations && Object.keys(spec.annotations).length > 0) asked = spec.image;
    }
  } finally {
    await rec.close();
  }
  if (asked) return asked;
  throw new Error(`critap: ${recordingDir} holds no PullImage or container ImageStatus of the static pod's image`);
}
