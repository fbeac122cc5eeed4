/**
 * `critap proxy --record` in front of a real containerd: the seed walkthrough is recorded in
 * order and reads back decoded; registry credentials and container env values sent through it
 * reach no file of the recording and no export.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'node:test';
import { makeCriClient } from '../support/cri-client.js';
import { CRITAP_BIN, startCliProxy } from '../support/cli-proxy.js';
import { tempSocketPath } from '../support/fake-upstream.js';
import { realRuntimeOrSkip } from '../support/runtime.js';
import { seedWalkthrough } from '../support/walkthrough.js';

const run = promisify(execFile);
const critap = (...args: string[]) => run(process.execPath, [CRITAP_BIN, ...args], { maxBuffer: 64 * 1024 * 1024 });

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    if ((await stat(p)).isDirectory()) out.push(...(await allFiles(p)));
    else out.push(p);
  }
  return out;
}

/** Every spelling a secret could be stored in: raw, base64 (bytes fields in JSON), hex. */
function spellings(secret: string): Buffer[] {
  const raw = Buffer.from(secret);
  return [raw, Buffer.from(raw.toString('base64')), Buffer.from(raw.toString('hex'))];
}

test('the walkthrough through a recording proxy: recorded in order, decoded, no secret stored', { timeout: 180_000 }, async (t) => {
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const root = await mkdtemp(join(tmpdir(), 'critap-rec-e2e-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const recDir = join(root, 'rec');
  const proxy = await startCliProxy(['--listen', tempSocketPath('critap'), '--upstream', rt.endpoint, '--record', recDir]);
  t.after(() => proxy.stop('SIGKILL'));

  const cri = makeCriClient(proxy.endpoint);
  t.after(() => cri.close());
  const steps = await seedWalkthrough(cri, { image: rt.registry.image, logDir: rt.dir });

  // Secrets: a pull with registry credentials, and a container whose env carries a Secret.
  const envSecret = `env-secret-${randomBytes(8).toString('hex')}`;
  const { username, password } = rt.authRegistry;
  await cri.image('PullImage', { image: { image: rt.authRegistry.image }, auth: { username, password } });
  const podConfig = { metadata: { name: 'secrets', uid: 'secrets-uid', namespace: 'critap-e2e', attempt: 0 }, log_directory: join(rt.dir, 'secret-logs'), linux: {} };
  const { pod_sandbox_id: podId } = await cri.runtime('RunPodSandbox', { config: podConfig });
  const { container_id: cid } = await cri.runtime('CreateContainer', {
    pod_sandbox_id: podId,
    config: {
      metadata: { name: 'with-secret', attempt: 0 },
      image: { image: rt.authRegistry.image },
      command: ['sleep', '3600'],
      envs: [{ key: 'DB_PASSWORD', value: Buffer.from(envSecret) }],
      log_path: 'c.log',
      linux: {},
    },
    sandbox_config: podConfig,
  });
  await cri.runtime('RemoveContainer', { container_id: cid });
  await cri.runtime('StopPodSandbox', { pod_sandbox_id: podId });
  await cri.runtime('RemovePodSandbox', { pod_sandbox_id: podId });

  assert.equal(await proxy.stop('SIGTERM'), 0, 'SIGTERM: flush and exit 0');

  // show --json lists the walkthrough's calls in order, decoded.
  const shown = (await critap('show', recDir, '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const names = shown.map((c) => String(c.method).split('/').pop());
  assert.deepEqual(names.slice(0, steps.length), steps.map((s) => s.method));
  assert.deepEqual(names.slice(steps.length), ['PullImage', 'RunPodSandbox', 'CreateContainer', 'RemoveContainer', 'StopPodSandbox', 'RemovePodSandbox']);
  const runPod = shown.find((c) => String(c.method).endsWith('/RunPodSandbox'))!;
  assert.equal(runPod.request.config.metadata.name, 'critap-walk');
  assert.equal(runPod.status.code, 0);
  assert.match(runPod.response.podSandboxId, /^[0-9a-f]{64}$/);
  assert.ok(shown.every((c) => typeof c.durationMs === 'number' && c.durationMs >= 0));

  // --pod finds the pod's calls, StartContainer (which names only a container id) included.
  const podCalls = (await critap('show', recDir, '--pod', 'critap-walk', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l).method as string);
  assert.ok(podCalls.some((m) => m.endsWith('/StartContainer')), `--pod critap-walk finds StartContainer: ${podCalls.join(', ')}`);

  // The pull with credentials was recorded, with the password redacted.
  const pull = shown.filter((c) => String(c.method).endsWith('/PullImage')).pop()!;
  assert.equal(pull.request.auth.username, username);
  assert.notEqual(pull.request.auth.password, password);

  // No secret in any file of the recording, nor in an export.
  const exportFile = join(root, 'export.jsonl');
  await critap('export', recDir, '--format', 'jsonl', '--out', exportFile);
  const files = [...(await allFiles(recDir)), exportFile];
  assert.ok(files.length > 3);
  for (const file of files) {
    const bytes = await readFile(file);
    for (const secret of [password, envSecret]) {
      for (const form of spellings(secret)) assert.equal(bytes.indexOf(form), -1, `${file} holds a secret (${form.toString().slice(0, 12)}…)`);
    }
  }
  // The scan does see stored data: the (non-secret) image name is in the export.
  assert.ok((await readFile(exportFile)).includes(Buffer.from(rt.authRegistry.image)));
});
