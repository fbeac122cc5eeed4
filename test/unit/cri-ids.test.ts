import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage } from '../../src/cri/codec.js';
import protobuf from 'protobufjs/light.js';
import { extractIds, requestHasIds, responseHasIds } from '../../src/cri/ids.js';
import { allMethods, lookupMethod, resolveMethodName, type MethodInfo } from '../../src/cri/methods.js';
import { lookupType } from '../../src/cri/schema.js';

function method(name: string, pkg?: string): MethodInfo {
  const m = resolveMethodName(name, pkg);
  assert.ok(m, name);
  return m;
}

/** Goes through the real codec, so the test sees the same JSON views the recorder does. */
function view(type: string, json: unknown): Record<string, unknown> {
  return decodeMessage(type, encodeMessage(type, json));
}

const podLabels = {
  'io.kubernetes.pod.name': 'web-0',
  'io.kubernetes.pod.namespace': 'prod',
  'io.kubernetes.pod.uid': 'uid-1',
};

test('RunPodSandbox: pod metadata from the request, sandbox id from the response', () => {
  const m = method('RunPodSandbox');
  const req = view(m.requestType, { config: { metadata: { name: 'web-0', namespace: 'prod', uid: 'uid-1', attempt: 0 } } });
  const res = view(m.responseType, { podSandboxId: 'sb1' });
  assert.deepEqual(extractIds(m, req, res), { podSandboxId: 'sb1', podName: 'web-0', podNamespace: 'prod', podUid: 'uid-1' });
});

test('CreateContainer: pod from sandboxConfig, container name and image from config', () => {
  const m = method('CreateContainer');
  const req = view(m.requestType, {
    podSandboxId: 'sb1',
    config: { metadata: { name: 'app' }, image: { image: 'busybox:1.36' } },
    sandboxConfig: { metadata: { name: 'web-0', namespace: 'prod', uid: 'uid-1' } },
  });
  const res = view(m.responseType, { containerId: 'c1' });
  assert.deepEqual(extractIds(m, req, res), {
    podSandboxId: 'sb1', containerId: 'c1', podName: 'web-0', podNamespace: 'prod', podUid: 'uid-1', containerName: 'app', image: 'busybox:1.36',
  });
});

test('PullImage, ImageStatus, RemoveImage: the image', () => {
  const pull = method('PullImage');
  assert.deepEqual(extractIds(pull, view(pull.requestType, { image: { image: 'nginx' }, sandboxConfig: { metadata: { name: 'p', namespace: 'n', uid: 'u' } } })), {
    image: 'nginx', podName: 'p', podNamespace: 'n', podUid: 'u',
  });
  for (const name of ['ImageStatus', 'RemoveImage']) {
    const m = method(name);
    assert.deepEqual(extractIds(m, view(m.requestType, { image: { image: 'redis:7' } })), { image: 'redis:7' });
  }
});

test('PodSandboxStatus: the status response', () => {
  const m = method('PodSandboxStatus');
  const res = view(m.responseType, { status: { id: 'sb1', metadata: { name: 'web-0', namespace: 'prod', uid: 'uid-1' } } });
  assert.deepEqual(extractIds(m, view(m.requestType, { podSandboxId: 'sb1' }), res), {
    podSandboxId: 'sb1', podName: 'web-0', podNamespace: 'prod', podUid: 'uid-1',
  });
});

test('ContainerStatus: id, name, image and the kubelet pod labels', () => {
  const m = method('ContainerStatus', 'v1alpha2');
  const res = view(m.responseType, {
    status: { id: 'c1', metadata: { name: 'app' }, image: { image: 'busybox' }, labels: { ...podLabels, 'io.kubernetes.container.name': 'app' } },
  });
  assert.deepEqual(extractIds(m, view(m.requestType, { containerId: 'c1' }), res), {
    containerId: 'c1', containerName: 'app', image: 'busybox', podName: 'web-0', podNamespace: 'prod', podUid: 'uid-1',
  });
});

test('labels fill in what metadata does not give', () => {
  const m = method('CreateContainer');
  const req = view(m.requestType, { config: { labels: { ...podLabels, 'io.kubernetes.container.name': 'side' } } });
  assert.deepEqual(extractIds(m, req), { podName: 'web-0', podNamespace: 'prod', podUid: 'uid-1', containerName: 'side' });
});

test('top-level ids of other calls, and stats', () => {
  for (const name of ['StopPodSandbox', 'RemovePodSandbox']) {
    const m = method(name);
    assert.deepEqual(extractIds(m, view(m.requestType, { podSandboxId: 'sb9' }), {}), { podSandboxId: 'sb9' });
  }
  for (const name of ['StartContainer', 'StopContainer', 'RemoveContainer', 'ExecSync', 'ReopenContainerLog']) {
    const m = method(name);
    assert.deepEqual(extractIds(m, view(m.requestType, { containerId: 'c9' })), { containerId: 'c9' });
  }
  const stats = method('ContainerStats');
  const res = view(stats.responseType, { stats: { attributes: { id: 'c9', metadata: { name: 'app' }, labels: podLabels } } });
  assert.deepEqual(extractIds(stats, view(stats.requestType, { containerId: 'c9' }), res), {
    containerId: 'c9', containerName: 'app', podName: 'web-0', podNamespace: 'prod', podUid: 'uid-1',
  });
});

test('list and stream responses are about many pods and give nothing', () => {
  const list = method('ListContainers');
  const res = view(list.responseType, { containers: [{ id: 'a', podSandboxId: 'p', labels: podLabels }, { id: 'b' }] });
  assert.deepEqual(extractIds(list, view(list.requestType, {}), res), {});
  const pods = method('ListPodSandbox');
  assert.deepEqual(extractIds(pods, {}, view(pods.responseType, { items: [{ id: 'p', metadata: { name: 'x' } }] })), {});
  const version = method('Version');
  assert.deepEqual(extractIds(version, view(version.requestType, { version: 'v1' }), view(version.responseType, { runtimeName: 'containerd' })), {});
});

test('GetContainerEvents: one event message is about one container and its pod', () => {
  const m = lookupMethod('/runtime.v1.RuntimeService/GetContainerEvents')!;
  const event = view(m.responseType, { containerId: 'c1', containerEventType: 'CONTAINER_STARTED_EVENT', podSandboxStatus: { id: 'sb1', metadata: { name: 'web-0', namespace: 'prod', uid: 'uid-1' } } });
  assert.deepEqual(extractIds(m, {}, event), { containerId: 'c1', podSandboxId: 'sb1', podName: 'web-0', podNamespace: 'prod', podUid: 'uid-1' });
});

test('a gRPC path works in place of MethodInfo', () => {
  const res = view('runtime.v1.ContainerStatusResponse', { status: { id: 'c1', metadata: { name: 'app' } } });
  assert.deepEqual(extractIds('/runtime.v1.RuntimeService/ContainerStatus', undefined, res), { containerId: 'c1', containerName: 'app' });
  assert.deepEqual(extractIds('/other.Service/Call', { podSandboxId: 'x' }), { podSandboxId: 'x' });
});

test('responseHasIds: decode a response for ids only where extractIds can find some', () => {
  const m = (name: string) => lookupMethod(`/runtime.v1.RuntimeService/${name}`)!;
  assert.equal(responseHasIds(m('ExecSync')), false, 'stdout and stderr, no id');
  assert.equal(responseHasIds(m('Version')), false);
  assert.equal(responseHasIds(m('ListContainers')), false, 'about many objects');
  assert.equal(responseHasIds(m('RunPodSandbox')), true, 'top-level podSandboxId');
  assert.equal(responseHasIds(m('CreateContainer')), true, 'top-level containerId');
  assert.equal(responseHasIds(m('ContainerStatus')), true);
  assert.equal(responseHasIds(m('PodSandboxStats')), true);
});

test('requestHasIds: Version and Status requests name nothing; requests about a pod, container or image do', () => {
  const m = (name: string) => lookupMethod(`/runtime.v1.RuntimeService/${name}`)!;
  assert.equal(requestHasIds(m('Version')), false);
  assert.equal(requestHasIds(m('Status')), false);
  assert.equal(requestHasIds(m('ListContainers')), false, 'a filter is not what the call is about');
  assert.equal(requestHasIds(m('RunPodSandbox')), true, 'pod metadata in config');
  assert.equal(requestHasIds(m('CreateContainer')), true);
  assert.equal(requestHasIds(m('StopPodSandbox')), true, 'top-level podSandboxId');
  assert.equal(requestHasIds(m('ExecSync')), true, 'top-level containerId');
  assert.equal(requestHasIds(lookupMethod('/runtime.v1.ImageService/PullImage')!), true);
  assert.equal(requestHasIds(lookupMethod('/runtime.v1.ImageService/ImageStatus')!), true);
});

/** A message of this type with every field set (strings 'x', maps with the kubelet's pod labels), a few levels deep. */
function filled(type: protobuf.Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (depth > 4) return out;
  for (const field of type.fieldsArray) {
    field.resolve();
    const inner = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    let value: unknown;
    if (field instanceof protobuf.MapField) value = inner ? { k: filled(inner, depth + 1) } : field.type === 'string' ? { ...podLabels, 'io.kubernetes.container.name': 'app' } : undefined;
    else if (inner) value = filled(inner, depth + 1);
    else if (field.type === 'string') value = 'x';
    if (value === undefined) continue;
    out[field.name] = field.repeated && !(field instanceof protobuf.MapField) ? [value] : value;
  }
  return out;
}

test('requestHasIds is false only where extractIds finds nothing in even a fully filled request', () => {
  let without = 0;
  for (const info of allMethods()) {
    if (requestHasIds(info)) continue;
    without++;
    const req = view(info.requestType, filled(lookupType(info.requestType)));
    assert.deepEqual(extractIds(info, req, undefined), {}, info.path);
  }
  assert.ok(without >= 5, `${without} methods without request ids`);
  // The check itself can fail: a filled request of a method with ids yields some.
  const run = lookupMethod('/runtime.v1.RuntimeService/RunPodSandbox')!;
  assert.notDeepEqual(extractIds(run, view(run.requestType, filled(lookupType(run.requestType))), undefined), {});
});
