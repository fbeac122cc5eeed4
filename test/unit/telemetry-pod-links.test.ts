import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodLinker } from '../../src/telemetry/pod-links.js';

const pod = { podName: 'web-0', podNamespace: 'shop', podUid: 'uid-1' };

test('StartContainer (container id only) gets the pod and container learnt at RunPodSandbox and CreateContainer', () => {
  const l = new PodLinker();
  l.link({ podSandboxId: 'sb1', ...pod });
  l.link({ podSandboxId: 'sb1', containerId: 'c1', containerName: 'nginx', image: 'nginx:1.27' });
  assert.deepEqual(l.link({ containerId: 'c1' }), {
    containerId: 'c1',
    podSandboxId: 'sb1',
    containerName: 'nginx',
    image: 'nginx:1.27',
    ...pod,
  });
});

test('a call naming only the sandbox gets the pod', () => {
  const l = new PodLinker();
  l.link({ podSandboxId: 'sb1', ...pod });
  assert.deepEqual(l.link({ podSandboxId: 'sb1' }), { podSandboxId: 'sb1', ...pod });
});

test('pod facts learnt after the container still reach it through the sandbox', () => {
  const l = new PodLinker();
  l.link({ podSandboxId: 'sb1', containerId: 'c1' });
  l.link({ podSandboxId: 'sb1', ...pod });
  assert.equal(l.link({ containerId: 'c1' }).podName, 'web-0');
});

test('what the call itself says wins over what was remembered', () => {
  const l = new PodLinker();
  l.link({ podSandboxId: 'sb1', ...pod });
  assert.equal(l.link({ podSandboxId: 'sb1', podName: 'renamed' }).podName, 'renamed');
});

test('unknown ids stay as they are, and no facts are invented', () => {
  const l = new PodLinker();
  assert.deepEqual(l.link({ containerId: 'nope' }), { containerId: 'nope' });
  assert.deepEqual(l.link({}), {});
  assert.deepEqual(l.sizes, { sandboxes: 0, containers: 0 });
});

test('the maps are bounded: the least recently used entry goes first', () => {
  const l = new PodLinker({ maxSandboxes: 2, maxContainers: 2 });
  l.link({ podSandboxId: 'a', podName: 'pa' });
  l.link({ podSandboxId: 'b', podName: 'pb' });
  l.link({ podSandboxId: 'a' }); // touch a: b is now the oldest
  l.link({ podSandboxId: 'c', podName: 'pc' });
  assert.equal(l.sizes.sandboxes, 2);
  assert.equal(l.link({ podSandboxId: 'b' }).podName, undefined);
  assert.equal(l.link({ podSandboxId: 'a' }).podName, 'pa');
  for (const id of ['c1', 'c2', 'c3']) l.link({ containerId: id, containerName: id });
  assert.equal(l.sizes.containers, 2);
  assert.equal(l.link({ containerId: 'c1' }).containerName, undefined);
  assert.equal(l.link({ containerId: 'c3' }).containerName, 'c3');
});

test('ids naming no container or sandbox come back as given, and teach nothing', () => {
  const l = new PodLinker();
  const empty = {};
  assert.equal(l.link(empty), empty);
  const image = { image: 'nginx:1', podName: 'lonely' };
  assert.equal(l.link(image), image);
  assert.deepEqual(l.sizes, { sandboxes: 0, containers: 0 });
  // Ids with a container are still completed into a new object, the caller's left alone.
  l.link({ containerId: 'c1', containerName: 'app', ...pod });
  const asked = { containerId: 'c1' };
  const got = l.link(asked);
  assert.notEqual(got, asked);
  assert.deepEqual(asked, { containerId: 'c1' });
  assert.equal(got.podName, 'web-0');
});
