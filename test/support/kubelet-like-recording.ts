/**
 * A recording shaped like a kubelet's node for the report tests: the PLEG relist once a second,
 * pods living through RunPodSandbox … RemovePodSandbox with status polls, some calls failing
 * (DeadlineExceeded, NotFound). Made with the library's writer from calls whose bodies are real
 * CRI protobuf (the test fixtures' encoder); no runtime behind it, and the page says so nowhere
 * else: it is a test recording, not a shipped one.
 */
import type { CallRecord } from '../../src/call.js';
import { createRecording } from '../../src/record/writer.js';
import { createContainer, makeCall, runPodSandbox, startContainer, T0, V1, versionCall } from '../unit/record-fixtures.js';

const MS = 1_000_000n;

export interface KubeletLikeShape {
  /** Seconds of relists (two calls each). */
  seconds: number;
  pods: number;
  /** Every n-th status poll ends DeadlineExceeded. */
  deadlineEvery: number;
}

export async function writeKubeletLikeRecording(dir: string, shape: KubeletLikeShape): Promise<number> {
  const w = await createRecording(dir);
  const batch: CallRecord[] = [];
  let written = 0;
  const flush = async () => {
    await w.append(...batch.splice(0));
  };
  const push = async (c: CallRecord) => {
    batch.push(c);
    written++;
    if (batch.length >= 2000) await flush();
  };
  await push(versionCall(T0));
  const podEvery = Math.max(1, Math.floor(shape.seconds / Math.max(1, shape.pods)));
  let polls = 0;
  for (let s = 0; s < shape.seconds; s++) {
    const at = T0 + BigInt(s) * 1000n * MS + 5n * MS;
    // Every 97th relist is slow, so the PLEG view has something to mark.
    const slow = s % 97 === 96;
    await push(makeCall({ method: V1 + 'ListPodSandbox', startNs: at, durationNs: slow ? 1_400_000_000 : 900_000 }));
    await push(makeCall({ method: V1 + 'ListContainers', startNs: at + (slow ? 1_401n : 1n) * MS, durationNs: 700_000 }));
    const p = Math.floor(s / podEvery);
    if (s % podEvery === 0 && p < shape.pods) {
      const sb = `sb-${String(p).padStart(4, '0')}-8f0c2a`;
      const ctr = `ctr-${String(p).padStart(4, '0')}-1b7e`;
      await push(runPodSandbox(sb, at + 100n * MS, `web-${p}`));
      await push(createContainer(sb, ctr, at + 420n * MS, 'app', `web-${p}`));
      await push(startContainer(ctr, at + 560n * MS));
    }
    if (p < shape.pods && s % podEvery === podEvery - 1) {
      const sb = `sb-${String(p).padStart(4, '0')}-8f0c2a`;
      const ctr = `ctr-${String(p).padStart(4, '0')}-1b7e`;
      await push(makeCall({ method: V1 + 'StopContainer', request: { containerId: ctr }, startNs: at + 200n * MS, durationNs: 250_000_000 }));
      await push(makeCall({ method: V1 + 'RemoveContainer', request: { containerId: ctr }, startNs: at + 460n * MS, durationNs: 3_000_000 }));
      await push(makeCall({ method: V1 + 'StopPodSandbox', request: { podSandboxId: sb }, startNs: at + 470n * MS, durationNs: 300_000_000 }));
      await push(makeCall({ method: V1 + 'RemovePodSandbox', request: { podSandboxId: sb }, startNs: at + 780n * MS, durationNs: 20_000_000 }));
    } else if (p < shape.pods && s % podEvery !== 0) {
      const ctr = `ctr-${String(p).padStart(4, '0')}-1b7e`;
      const late = ++polls % shape.deadlineEvery === 0;
      await push(makeCall({ method: V1 + 'ContainerStatus', request: { containerId: ctr }, startNs: at + 300n * MS, durationNs: late ? 2_000_000_000 : 400_000, code: late ? 4 : 0 }));
    }
    if (s % 500 === 250) await push(makeCall({ method: V1 + 'StopContainer', request: { containerId: 'ctr-gone' }, code: 5, startNs: at + 900n * MS }));
  }
  await flush();
  await w.close();
  return written;
}
