/**
 * The seed's `crictl runp --runtime runsc`: containerd offers gVisor's runsc as a second runtime
 * handler (the runc shim with BinaryName = test/support/runsc-wrapper.sh). The sandbox really runs
 * under runsc, reaches SANDBOX_READY, and stops and is removed; through `critap proxy --record` every
 * step answers as straight to containerd, runtimeHandler included, and the recording holds
 * RunPodSandboxRequest.runtime_handler = 'runsc'. No container is started: under gVisor here that hangs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'node:test';
import { binariesOrSkip } from '../support/binaries.js';
import { CRITAP_BIN, startCliProxy } from '../support/cli-proxy.js';
import { comparable, crictlHandlerWalk, differences, makeCrictl } from '../support/crictl.js';
import { instancePids } from '../support/runtime-cleanup.js';
import { RUNSC_HANDLER, realRuntimeOrSkip, runtimePids } from '../support/runtime.js';

const run = promisify(execFile);

interface Inspected {
  status: { state: string; runtimeHandler: string };
  info: { runtimeHandler: string; runtimeOptions: { binary_name?: string } | null };
}

test('crictl runp --runtime runsc: the handler reaches the runtime and the recording, same answers through critap', { timeout: 180_000 }, async (t) => {
  const bins = binariesOrSkip(t, 'crictl');
  if (!bins) return;
  const rt = await realRuntimeOrSkip(t, { runscHandler: true });
  if (!rt) return;
  const opts = { image: rt.registry.image, workDir: join(rt.dir, 'walk'), podName: 'critap-gvisor' };
  // While the pod is ready its sandbox must be a runsc process of this instance, not runc.
  const sandboxSeen: boolean[] = [];
  const lookForRunsc = () => {
    const cmdlines = instancePids(`${rt.dir}/runsc-root`).map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return ''; // exited meanwhile
      }
    });
    sandboxSeen.push(cmdlines.some((c) => c.startsWith('runsc-sandbox')));
  };

  const direct = await crictlHandlerWalk(await makeCrictl(bins.crictl, rt.endpoint, join(rt.dir, 'crictl-direct')), RUNSC_HANDLER, opts, lookForRunsc);
  for (const s of direct) assert.equal(s.code, 0, `direct: crictl ${s.name} failed:\n${s.stderr}`);
  assert.equal(direct.length, 4);
  const inspected = direct[1]!.json as Inspected;
  assert.equal(inspected.status.state, 'SANDBOX_READY');
  assert.equal(inspected.status.runtimeHandler, RUNSC_HANDLER);
  assert.equal(inspected.info.runtimeHandler, RUNSC_HANDLER);
  assert.match(inspected.info.runtimeOptions?.binary_name ?? '', /runsc-wrapper\.sh$/);

  const recDir = join(rt.dir, 'recording');
  const proxy = await startCliProxy(['--listen', join(rt.dir, 'proxy.sock'), '--upstream', rt.endpoint, '--record', recDir]);
  t.after(() => proxy.stop('SIGKILL'));
  const through = await crictlHandlerWalk(await makeCrictl(bins.crictl, proxy.endpoint, join(rt.dir, 'crictl-proxy')), RUNSC_HANDLER, opts, lookForRunsc);
  assert.deepEqual(through.map((s) => s.name), direct.map((s) => s.name));
  for (let i = 0; i < direct.length; i++) {
    const [d, p] = [comparable(direct[i]!), comparable(through[i]!)];
    assert.deepEqual(p, d, `step ${direct[i]!.name} differs through critap:\n  ${differences(d, p).join('\n  ')}`);
  }
  assert.deepEqual(sandboxSeen, [true, true], 'both times the sandbox ran as runsc-sandbox');
  assert.equal(await proxy.stop(), 0);

  const shown = (await run(process.execPath, [CRITAP_BIN, 'show', recDir, '--json'], { maxBuffer: 64 * 1024 * 1024 })).stdout
    .trim().split('\n').map((l) => JSON.parse(l) as { method: string; request: Record<string, unknown>; response: Record<string, unknown> });
  const runPod = shown.filter((c) => c.method.endsWith('/RunPodSandbox'));
  assert.equal(runPod.length, 1);
  assert.equal(runPod[0]!.request['runtimeHandler'], RUNSC_HANDLER, 'RunPodSandboxRequest.runtime_handler is recorded');
  const status = shown.find((c) => c.method.endsWith('/PodSandboxStatus'))!;
  assert.equal((status.response['status'] as { runtimeHandler: string }).runtimeHandler, RUNSC_HANDLER);

  await rt.stop();
  assert.deepEqual(runtimePids(rt), [], 'no runsc sandbox, gofer, shim or containerd survives stop()');
});
