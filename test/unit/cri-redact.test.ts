import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, decodeMessage, encodeMessage } from '../../src/cri/codec.js';
import { allMethods } from '../../src/cri/methods.js';
import { REDACTED, canRedact, redactMessage, validateRedactionRules, type RedactionRules } from '../../src/cri/redact.js';

const credentials = {
  username: 'robot',
  password: 'hunter2',
  auth: 'cm9ib3Q6aHVudGVyMg==',
  serverAddress: 'registry.example.com',
  identityToken: 'id-token',
  registryToken: 'reg-token',
};

for (const pkg of ['runtime.v1', 'runtime.v1alpha2']) {
  test(`${pkg} PullImageRequest credentials are redacted, everything else kept`, () => {
    const type = `${pkg}.PullImageRequest`;
    const bytes = encodeMessage(type, {
      image: { image: 'registry.example.com/app:1' },
      auth: credentials,
      sandboxConfig: { metadata: { name: 'web-0', namespace: 'prod', uid: 'u1' } },
    });
    const redacted = redactMessage(type, bytes);
    assert.notEqual(redacted, bytes);
    assert.ok(!redacted.includes('hunter2') && !redacted.includes('id-token') && !redacted.includes('reg-token'));
    assert.deepEqual(decodeMessage(type, redacted), {
      image: { image: 'registry.example.com/app:1' },
      auth: { ...credentials, password: REDACTED, auth: REDACTED, identityToken: REDACTED, registryToken: REDACTED },
      sandboxConfig: { metadata: { name: 'web-0', namespace: 'prod', uid: 'u1' } },
    });
    // Redacting again changes nothing, and says so by returning the very same Buffer.
    assert.equal(redactMessage(type, redacted), redacted);
  });
}

test('CreateContainerRequest env values are removed (v1: bytes → empty)', () => {
  const type = 'runtime.v1.CreateContainerRequest';
  const secret = Buffer.from('s3cret').toString('base64');
  const bytes = encodeMessage(type, {
    podSandboxId: 'p1',
    config: { metadata: { name: 'app' }, envs: [{ key: 'DB_PASSWORD', value: secret }, { key: 'EMPTY' }], labels: { tier: 'db' } },
  });
  const redacted = redactMessage(type, bytes);
  assert.ok(!redacted.includes('s3cret'));
  assert.deepEqual(decodeMessage(type, redacted), {
    podSandboxId: 'p1',
    config: { metadata: { name: 'app' }, envs: [{ key: 'DB_PASSWORD' }, { key: 'EMPTY' }], labels: { tier: 'db' } },
  });
  const kept = { keepEnv: true };
  assert.equal(redactMessage(type, bytes, kept), bytes, 'keepEnv keeps the bytes as they were');
});

test('v1alpha2 env values are strings and become REDACTED', () => {
  const type = 'runtime.v1alpha2.CreateContainerRequest';
  const bytes = encodeMessage(type, { config: { envs: [{ key: 'TOKEN', value: 'abc' }] } });
  assert.deepEqual(decodeMessage(type, redactMessage(type, bytes)), { config: { envs: [{ key: 'TOKEN', value: REDACTED }] } });
});

test('ContainerConfig is redacted wherever it occurs (RestorePodRequest.container_configs)', () => {
  const type = 'runtime.v1.RestorePodRequest';
  const bytes = encodeMessage(type, { containerConfigs: [{ envs: [{ key: 'A', value: 'eA==' }] }, { envs: [{ key: 'B', value: 'eQ==' }] }] });
  assert.deepEqual(decodeMessage(type, redactMessage(type, bytes)), { containerConfigs: [{ envs: [{ key: 'A' }] }, { envs: [{ key: 'B' }] }] });
});

test('types that cannot hold secrets return the identical Buffer without decoding', () => {
  for (const type of ['runtime.v1.VersionRequest', 'runtime.v1.ListContainersResponse', 'runtime.v1.ContainerStatusResponse']) {
    assert.equal(canRedact(type), false, type);
  }
  // Garbage proves no decoding happens for a type that cannot hold secrets.
  const garbage = Buffer.from([0xff, 0xff, 0xff]);
  assert.equal(redactMessage('runtime.v1.ListContainersResponse', garbage), garbage);
  const status = encodeMessage('runtime.v1.ContainerStatusResponse', { status: { id: 'c', labels: { a: 'b' } } });
  assert.equal(redactMessage('runtime.v1.ContainerStatusResponse', status), status);
  // A type that can hold secrets but holds none is returned unchanged too.
  assert.equal(canRedact('runtime.v1.PullImageRequest'), true);
  const noAuth = encodeMessage('runtime.v1.PullImageRequest', { image: { image: 'busybox' }, auth: { username: 'u', serverAddress: 'r' } });
  assert.equal(redactMessage('runtime.v1.PullImageRequest', noAuth), noAuth);
});

test('fields outside the schema survive redaction byte for byte', () => {
  const type = 'runtime.v1.PullImageRequest';
  const unknownField = Buffer.from('fa0603787978', 'hex'); // field 111, "xyx"
  const bytes = Buffer.concat([encodeMessage(type, { auth: { password: 'pw' } }), unknownField]);
  const redacted = redactMessage(type, bytes);
  assert.ok(redacted.subarray(redacted.length - unknownField.length).equals(unknownField));
  assert.deepEqual(decodeMessage(type, redacted), { auth: { password: REDACTED } });
});

test('extraPaths: anchored, wildcard, proto names, maps and messages', () => {
  const type = 'runtime.v1.CreateContainerRequest';
  const bytes = encodeMessage(type, {
    config: { metadata: { name: 'app', attempt: 1 }, labels: { a: '1' }, annotations: { b: '2' }, envs: [{ key: 'K', value: 'dg==' }] },
    sandboxConfig: { annotations: { c: '3' }, hostname: 'h' },
  });
  const rules: RedactionRules = {
    extraPaths: ['runtime.v1.CreateContainerRequest:config.labels', '*:config.annotations', 'CreateContainerRequest:sandbox_config.hostname', 'ContainerConfig:metadata'],
    keepEnv: true,
  };
  assert.deepEqual(decodeMessage(type, redactMessage(type, bytes, rules)), {
    config: { metadata: { name: REDACTED, attempt: 1 }, labels: { a: REDACTED }, annotations: { b: REDACTED }, envs: [{ key: 'K', value: 'dg==' }] },
    sandboxConfig: { annotations: { c: '3' }, hostname: REDACTED },
  });
  // '*' applies at any depth: RunPodSandboxRequest.config.annotations too.
  const run = encodeMessage('runtime.v1.RunPodSandboxRequest', { config: { annotations: { x: 'y' } } });
  assert.deepEqual(decodeMessage('runtime.v1.RunPodSandboxRequest', redactMessage('runtime.v1.RunPodSandboxRequest', run, rules)), { config: { annotations: { x: REDACTED } } });
  assert.equal(canRedact('runtime.v1.RunPodSandboxRequest', rules), true);
  assert.equal(canRedact('runtime.v1.RunPodSandboxRequest'), false);
});

test('redaction paths that name nothing are rejected', () => {
  assert.throws(() => validateRedactionRules({ extraPaths: ['*:config.anotations'] }), /critap: redaction path '\*:config\.anotations': no field path/);
  assert.throws(() => validateRedactionRules({ extraPaths: ['NoSuchType:x'] }), /no CRI message type 'NoSuchType'/);
  assert.throws(() => validateRedactionRules({ extraPaths: ['*:'] }), /is not 'Type:field\.field'/);
  assert.doesNotThrow(() => validateRedactionRules({ extraPaths: ['runtime.v1alpha2.ContainerConfig:linux.security_context.run_as_username'] }));
});

test('malformed bytes of a redactable type throw CodecError', () => {
  const bad = Buffer.from([0x12, 0x05, 0x12, 0x09, 0x61]); // auth → password with a length past the end
  assert.throws(() => redactMessage('runtime.v1.PullImageRequest', bad), (err: unknown) => err instanceof CodecError && /^critap: cannot redact 5 bytes as runtime\.v1\.PullImageRequest/.test(err.message));
  assert.throws(() => redactMessage('runtime.v1.Nope', Buffer.alloc(0)), CodecError);
});

test('by default only the calls that carry credentials or env values can need redaction', () => {
  const redactable = new Set<string>();
  for (const m of allMethods()) for (const type of [m.requestType, m.responseType]) if (canRedact(type)) redactable.add(type);
  assert.deepEqual([...redactable].sort(), [
    'runtime.v1.CreateContainerRequest', 'runtime.v1.PullImageRequest', 'runtime.v1.RestorePodRequest',
    'runtime.v1alpha2.CreateContainerRequest', 'runtime.v1alpha2.PullImageRequest',
  ]);
});

test('redacting, reading ids and preparing calls load no protobuf.js (the observer thread holds neither it nor a CRI root)', async () => {
  const { execFileSync } = await import('node:child_process');
  const here = new URL('.', import.meta.url);
  // A fresh process: this file imports codec.js (protobuf.js) for its fixtures.
  const script = `
    const { redactMessage } = await import(${JSON.stringify(new URL('../../src/cri/redact.js', here).href)});
    await import(${JSON.stringify(new URL('../../src/record/prepare.js', here).href)});
    await import(${JSON.stringify(new URL('../../src/telemetry/call-ids.js', here).href)});
    const auth = Buffer.from([0x0a, 0x02, 0x68, 0x69, 0x12, 0x07, ...Buffer.from('hunter2')]); // AuthConfig {username: hi, password: hunter2}
    const request = Buffer.concat([Buffer.from([0x12, auth.length]), auth]); // PullImageRequest.auth
    const out = redactMessage('runtime.v1.PullImageRequest', request);
    if (out.includes('hunter2')) throw new Error('not redacted');
    const { createRequire } = await import('node:module');
    const loaded = Object.keys(createRequire(import.meta.url)('module')._cache).filter((k) => k.includes('protobufjs'));
    process.stdout.write(JSON.stringify(loaded));`;
  const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
  assert.deepEqual(loaded, []);
});
