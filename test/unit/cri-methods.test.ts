import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allMethods, lookupMethod, resolveMethodName } from '../../src/cri/methods.js';
import { lookupType } from '../../src/cri/schema.js';

test('lookupMethod describes a path', () => {
  assert.deepEqual({ ...lookupMethod('/runtime.v1.RuntimeService/Version') }, {
    path: '/runtime.v1.RuntimeService/Version',
    pkg: 'runtime.v1',
    service: 'RuntimeService',
    name: 'Version',
    requestType: 'runtime.v1.VersionRequest',
    responseType: 'runtime.v1.VersionResponse',
    serverStreaming: false,
  });
  const events = lookupMethod('/runtime.v1.RuntimeService/GetContainerEvents')!;
  assert.equal(events.requestType, 'runtime.v1.GetEventsRequest');
  assert.equal(events.responseType, 'runtime.v1.ContainerEventResponse');
  assert.equal(events.serverStreaming, true);
  assert.equal(lookupMethod('/runtime.v1alpha2.ImageService/PullImage')?.pkg, 'runtime.v1alpha2');
  assert.equal(lookupMethod('/runtime.v1.RuntimeService/Nope'), undefined);
  assert.equal(lookupMethod('runtime.v1.RuntimeService/Version'), undefined, 'only exact paths');
});

test('allMethods: every CRI RPC of both packages, with resolvable types', () => {
  const methods = allMethods();
  const count = (pkg: string, service: string) => methods.filter((m) => m.pkg === pkg && m.service === service).length;
  assert.equal(count('runtime.v1', 'RuntimeService'), 37);
  assert.equal(count('runtime.v1', 'ImageService'), 6);
  assert.equal(count('runtime.v1alpha2', 'RuntimeService'), 24);
  assert.equal(count('runtime.v1alpha2', 'ImageService'), 5);
  for (const m of methods) {
    assert.equal(lookupMethod(m.path), m);
    assert.ok(lookupType(m.requestType));
    assert.ok(lookupType(m.responseType));
  }
  const streaming = methods.filter((m) => m.serverStreaming).map((m) => m.name).sort();
  assert.deepEqual(streaming, [
    'GetContainerEvents', 'StreamContainerStats', 'StreamContainers', 'StreamImages',
    'StreamPodSandboxMetrics', 'StreamPodSandboxStats', 'StreamPodSandboxes',
  ]);
});

test('resolveMethodName accepts the forms people type, preferring runtime.v1', () => {
  const want = '/runtime.v1.RuntimeService/Version';
  for (const form of ['Version', 'RuntimeService/Version', 'runtime.v1.RuntimeService/Version', want, 'version']) {
    assert.equal(resolveMethodName(form)?.path, want, form);
  }
  assert.equal(resolveMethodName('Version', 'runtime.v1alpha2')?.path, '/runtime.v1alpha2.RuntimeService/Version');
  assert.equal(resolveMethodName('Version', 'v1alpha2')?.path, '/runtime.v1alpha2.RuntimeService/Version');
  assert.equal(resolveMethodName('runtime.v1alpha2.ImageService/PullImage')?.path, '/runtime.v1alpha2.ImageService/PullImage');
  assert.equal(resolveMethodName('ImageService/PullImage')?.path, '/runtime.v1.ImageService/PullImage');
  assert.equal(resolveMethodName('StreamImages', 'v1alpha2'), undefined, 'v1alpha2 has no StreamImages');
  assert.equal(resolveMethodName('ImageService/Version'), undefined, 'wrong service');
  assert.equal(resolveMethodName('runtime.v1.RuntimeService/Version', 'v1alpha2'), undefined, 'conflicting package');
  assert.equal(resolveMethodName('Nope'), undefined);
  assert.equal(resolveMethodName(''), undefined);
  assert.equal(resolveMethodName('Version', 'v2'), undefined);
});
