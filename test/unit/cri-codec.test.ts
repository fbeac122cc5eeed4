import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, decodeMessage, encodeMessage } from '../../src/cri/codec.js';

const hex = (b: Buffer) => b.toString('hex');

test('encodes the exact wire bytes of a known message', () => {
  // VersionRequest{version = "0.1.0"}: tag 0x0a (field 1, length-delimited), length 5.
  assert.equal(hex(encodeMessage('runtime.v1.VersionRequest', { version: '0.1.0' })), '0a05302e312e30');
  // StopContainerRequest{container_id="c", timeout=-1}: int64 -1 is a 10-byte varint.
  assert.equal(
    hex(encodeMessage('runtime.v1.StopContainerRequest', { container_id: 'c', timeout: '-1' })),
    '0a0163' + '10ffffffffffffffffff01',
  );
  assert.deepEqual(encodeMessage('runtime.v1.VersionRequest', {}), Buffer.alloc(0));
});

test('decodes to the protobuf JSON mapping: camelCase, int64 strings, enum names, base64, maps, no defaults', () => {
  const json = {
    status: {
      id: 'c1',
      metadata: { name: 'app', attempt: 3 },
      state: 'CONTAINER_RUNNING',
      createdAt: '1700000000123456789',
      exitCode: 0,
      image: { image: 'docker.io/library/busybox:1.36' },
      labels: { 'io.kubernetes.pod.name': 'web-0' },
      mounts: [{ containerPath: '/data', hostPath: '/var/data', readonly: true, propagation: 'PROPAGATION_BIDIRECTIONAL' }],
    },
    info: { pid: '4242' },
  };
  const bytes = encodeMessage('runtime.v1.ContainerStatusResponse', json);
  const view = decodeMessage('runtime.v1.ContainerStatusResponse', bytes);
  assert.deepEqual(view, {
    status: {
      id: 'c1',
      metadata: { name: 'app', attempt: 3 },
      state: 'CONTAINER_RUNNING',
      createdAt: '1700000000123456789',
      image: { image: 'docker.io/library/busybox:1.36' },
      labels: { 'io.kubernetes.pod.name': 'web-0' },
      mounts: [{ containerPath: '/data', hostPath: '/var/data', readonly: true, propagation: 'PROPAGATION_BIDIRECTIONAL' }],
    },
    info: { pid: '4242' },
  });
  // Re-encoding the view gives the same bytes: the view is a faithful round trip.
  assert.deepEqual(encodeMessage('runtime.v1.ContainerStatusResponse', view), bytes);
});

test('bytes are base64 and the largest 64-bit values survive', () => {
  const bytes = encodeMessage('runtime.v1.ExecSyncResponse', { stdout: Buffer.from('hi\n').toString('base64'), exit_code: 2 });
  assert.deepEqual(decodeMessage('runtime.v1.ExecSyncResponse', bytes), { stdout: 'aGkK', exitCode: 2 });
  const big = encodeMessage('runtime.v1.UInt64Value', { value: '18446744073709551615' });
  assert.deepEqual(decodeMessage('runtime.v1.UInt64Value', big), { value: '18446744073709551615' });
  const neg = encodeMessage('runtime.v1.LinuxContainerResources', { memoryLimitInBytes: '-9223372036854775808', cpuShares: 2 });
  assert.deepEqual(decodeMessage('runtime.v1.LinuxContainerResources', neg), { memoryLimitInBytes: '-9223372036854775808', cpuShares: '2' });
  // URL-safe base64 is accepted; numbers are accepted for int64.
  const url = encodeMessage('runtime.v1.ExecSyncResponse', { stdout: '-_8' });
  assert.deepEqual(decodeMessage('runtime.v1.ExecSyncResponse', url), { stdout: '+/8=' });
  assert.deepEqual(decodeMessage('runtime.v1.UInt64Value', encodeMessage('runtime.v1.UInt64Value', { value: 12 })), { value: '12' });
});

test('an empty sub-message is kept (it has presence); a present default scalar is not shown', () => {
  const bytes = encodeMessage('runtime.v1.PodSandboxStatusRequest', { podSandboxId: '', verbose: false });
  assert.equal(bytes.length, 0);
  assert.deepEqual(decodeMessage('runtime.v1.RunPodSandboxRequest', encodeMessage('runtime.v1.RunPodSandboxRequest', { config: {} })), { config: {} });
  // Explicitly encoded zero value (field 2 varint 0), as a non-Go encoder might send.
  assert.deepEqual(decodeMessage('runtime.v1.PodSandboxStatusRequest', Buffer.from('0a01701000', 'hex')), { podSandboxId: 'p' });
});

test('unknown enum numbers and unknown wire fields decode without loss of the rest', () => {
  const bytes = Buffer.concat([
    encodeMessage('runtime.v1.ContainerStateValue', { state: 7 }),
    Buffer.from('a006 01'.replace(/ /g, ''), 'hex'), // field 100 varint 1, not in the schema
  ]);
  assert.deepEqual(decodeMessage('runtime.v1.ContainerStateValue', bytes), { state: 7 });
});

test('accepts snake_case and camelCase keys, and null as unset', () => {
  const a = encodeMessage('runtime.v1.CreateContainerRequest', { pod_sandbox_id: 'p', config: { metadata: { name: 'x' } }, sandbox_config: null });
  const b = encodeMessage('runtime.v1.CreateContainerRequest', { podSandboxId: 'p', config: { metadata: { name: 'x' } } });
  assert.deepEqual(a, b);
});

test('strict encode: unknown fields name the field and the type', () => {
  assert.throws(
    () => encodeMessage('runtime.v1.CreateContainerRequest', { config: { metdata: { name: 'x' } } }),
    (err: unknown) => err instanceof CodecError && /unknown field 'metdata' in runtime\.v1\.ContainerConfig/.test(err.message),
  );
  assert.throws(() => encodeMessage('runtime.v1.CreateContainerRequest', { podSandboxID: 'x' }), /unknown field 'podSandboxID' in runtime\.v1\.CreateContainerRequest.*did you mean 'podSandboxId'/);
  assert.throws(() => encodeMessage('runtime.v1.VersionRequest', { version: '1', pod_sandbox_id: 'x' }), /unknown field 'pod_sandbox_id'/);
  assert.throws(() => encodeMessage('runtime.v1.PodSandboxStatusRequest', { pod_sandbox_id: 'a', podSandboxId: 'b' }), /given twice/);
});

test('strict encode: ill-typed values are errors with the path', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['runtime.v1.VersionRequest', { version: 1 }, /VersionRequest\.version must be a string, got number 1/],
    ['runtime.v1.VersionRequest', [], /must be a JSON object for runtime\.v1\.VersionRequest, got an array/],
    ['runtime.v1.VersionRequest', 'x', /must be a JSON object/],
    ['runtime.v1.ContainerStateValue', { state: 'RUNNING' }, /must be one of CONTAINER_CREATED, .* got the string "RUNNING"/],
    ['runtime.v1.ContainerMetadata', { attempt: -1 }, /-1 is out of range for uint32/],
    ['runtime.v1.ContainerMetadata', { attempt: 1.5 }, /must be an integer \(uint32\)/],
    ['runtime.v1.UInt64Value', { value: '18446744073709551616' }, /out of range for uint64/],
    ['runtime.v1.UInt64Value', { value: '12abc' }, /must be an integer \(uint64\)/],
    ['runtime.v1.ExecSyncResponse', { stdout: 'not base64!' }, /stdout must be base64 text/],
    ['runtime.v1.ListContainersRequest', { filter: { label_selector: ['a'] } }, /labelSelector is a map/],
    ['runtime.v1.ListContainersRequest', { filter: { label_selector: { a: 1 } } }, /labelSelector\["a"\] must be a string/],
    ['runtime.v1.ExecSyncRequest', { cmd: 'ls' }, /cmd is repeated and must be a JSON array/],
    ['runtime.v1.PodSandboxStatusRequest', { verbose: 'yes' }, /verbose must be true or false/],
    ['runtime.v1.Nope', {}, /unknown CRI message type 'runtime\.v1\.Nope'/],
  ];
  for (const [type, json, pattern] of bad) {
    assert.throws(() => encodeMessage(type, json), (err: unknown) => err instanceof CodecError && pattern.test(err.message), `${type} ${JSON.stringify(json)}`);
  }
});

test('bad bytes throw CodecError, not a crash', () => {
  const cases = [
    Buffer.from([0x0a, 0x10, 0x61]), // length 16 but one byte follows
    Buffer.from([0x0f]), // wire type 7
    Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // varint too long
  ];
  for (const bytes of cases) {
    assert.throws(() => decodeMessage('runtime.v1.CreateContainerRequest', bytes), (err: unknown) => err instanceof CodecError && /^critap: cannot decode/.test(err.message), hex(bytes));
  }
  assert.throws(() => decodeMessage('runtime.v1.Nope', Buffer.alloc(0)), CodecError);
});
