import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { criRoot, lookupType } from '../../src/cri/schema.js';

test('criRoot loads both CRI packages once', () => {
  const root = criRoot();
  assert.equal(criRoot(), root, 'cached');
  assert.ok(root.lookupService('runtime.v1.RuntimeService'));
  assert.ok(root.lookupService('runtime.v1alpha2.ImageService'));
});

test('field names are the protobuf JSON names (lowerCamelCase), as crictl -o json prints them', () => {
  const t = lookupType('runtime.v1.LinuxContainerResources');
  assert.ok(t.fields.memoryLimitInBytes);
  assert.ok(t.fields.oomScoreAdj);
  assert.equal(t.fields.memory_limit_in_bytes, undefined);
  // json_name keeps a leading capital and camel-cases after each underscore.
  assert.ok(lookupType('runtime.v1.ContainerConfig').fields.CDIDevices);
});

test('lookupType finds full names, with or without a leading dot, and rejects others', () => {
  const t = lookupType('runtime.v1.AuthConfig');
  assert.ok(t instanceof protobuf.Type);
  assert.equal(lookupType('.runtime.v1.AuthConfig'), t);
  assert.equal(lookupType('runtime.v1alpha2.AuthConfig').fullName, '.runtime.v1alpha2.AuthConfig');
  assert.equal(t.fields.identityToken!.options?.debug_redact, true);
  assert.throws(() => lookupType('AuthConfig'), /critap: unknown CRI message type 'AuthConfig'/);
  assert.throws(() => lookupType('runtime.v1.NoSuchThing'), /unknown CRI message type/);
  assert.throws(() => lookupType('runtime.v1.Protocol'), /unknown CRI message type/, 'an enum is not a message');
});
