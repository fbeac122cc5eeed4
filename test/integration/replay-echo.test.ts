/**
 * A client whose requests differ from the recorded ones — another pod name, log folder and image
 * reference, as a test on another machine would send — walks the whole seed walkthrough against
 * the replay and gets the right answers, with its own values echoed where the runtime echoed
 * the recorded ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { replay } from '../../src/replay/index.js';
import { decodeMessage } from '../../src/cri/codec.js';
import { makeCriClient } from '../support/cri-client.js';
import { seedWalkthrough } from '../support/walkthrough.js';
import { SEED, recordedCall } from './replay-helpers.js';

test('walkthrough with other names, paths and image: no misses, answers echo the client', async (t) => {
  const runtime = await replay({ recording: SEED });
  t.after(() => runtime.close());
  const cri = makeCriClient(runtime.endpoint);
  t.after(() => cri.close());
  const logDir = '/var/tmp/elsewhere-7f3a';
  const image = 'registry.test:5000/team/busybox:1.36';
  const steps = await seedWalkthrough(cri, { image, logDir, podName: 'my-own-pod' });
  assert.equal(steps.length, 18);
  assert.deepEqual(runtime.misses, [], JSON.stringify(runtime.misses, null, 2));

  const answer = (method: string) => steps.find((s) => s.method === method)!.response;
  const recorded = async (method: string) => {
    const c = await recordedCall(SEED, method);
    return decodeMessage(`runtime.v1.${method}Response`, c.responses[0]!.data) as Record<string, any>;
  };

  // Ids the runtime generated come back as recorded, so the client's later calls match exactly.
  assert.equal(answer('RunPodSandbox').pod_sandbox_id, (await recorded('RunPodSandbox')).podSandboxId);
  assert.equal(answer('CreateContainer').container_id, (await recorded('CreateContainer')).containerId);

  // The pod's name is the client's, in every answer that repeats it.
  assert.equal(answer('PodSandboxStatus').status.metadata.name, 'my-own-pod');
  const pods = answer('ListPodSandbox').items as Array<{ metadata: { name: string } }>;
  assert.ok(pods.length > 0 && pods.every((p) => p.metadata.name === 'my-own-pod'));

  // The log folder and the image reference too, also inside longer strings.
  const status = answer('ContainerStatus').status;
  assert.equal(status.log_path, join(logDir, 'pod-logs', 'sleeper.log'));
  assert.equal(status.image.image, image);
  const tags = (answer('ListImages').images as Array<{ repo_tags: string[] }>).flatMap((i) => i.repo_tags);
  assert.ok(tags.includes(image), `ListImages shows the client's image: ${tags.join(', ')}`);
  const recordedStatus = (await recorded('ContainerStatus')).status;
  assert.notEqual(recordedStatus.logPath, status.log_path, 'the recording had another folder');

  // What was not about the client's values is exactly as recorded.
  assert.equal(answer('ExecSync').stdout.toString(), Buffer.from((await recorded('ExecSync')).stdout, 'base64').toString());
  assert.equal(answer('Version').runtime_name, 'containerd');
  assert.equal(status.id, (await recorded('ContainerStatus')).status.id);
});
