/**
 * What a client sees when the recording cannot answer: gRPC errors naming the method and the
 * closest recorded request, kept in runtime.misses and written to the misses file; and the
 * exact / sequence / on-exhausted modes over a real socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replay } from '../../src/replay/index.js';
import { encodeMessage } from '../../src/cri/codec.js';
import { rawClient, unaryCall } from '../support/fake-upstream.js';
import { SEED, V1, recordedCall } from './replay-helpers.js';

const VERSION_REQ = (version: string) => encodeMessage('runtime.v1.VersionRequest', { version });

test('misses: unrecorded method, exact-mode difference, unknown path; all kept and written out', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'critap-misses-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const missesFile = join(dir, 'misses.json');
  const runtime = await replay({ recording: SEED, match: 'exact', missesFile });
  let closed = false;
  t.after(() => (closed ? undefined : runtime.close()));
  const client = rawClient(runtime.endpoint);
  t.after(() => client.close());

  const events = await unaryCall(client, `${V1}ListMetricDescriptors`, Buffer.alloc(0));
  assert.equal(events.error?.code, 12);
  assert.match(events.error!.details, /^critap replay: the recording has no call of \/runtime\.v1\.RuntimeService\/ListMetricDescriptors; it has calls of ContainerStatus, CreateContainer, /);

  const recorded = await recordedCall(SEED, 'Version');
  const other = await unaryCall(client, `${V1}Version`, VERSION_REQ('v0'));
  assert.equal(other.error?.code, 5);
  assert.match(other.error!.details, /no recorded \/runtime\.v1\.RuntimeService\/Version request equals this one \(--match exact\)/);
  assert.match(other.error!.details, /version: recorded "v1", got "v0"/);

  // A path outside the CRI schema and the recording: grpc-js itself answers UNIMPLEMENTED.
  const unknown = await unaryCall(client, '/example.Foo/Bar', Buffer.alloc(0));
  assert.equal(unknown.error?.code, 12);
  assert.match(unknown.error!.details, /\/example\.Foo\/Bar/);

  // The recorded request itself still answers.
  const same = await unaryCall(client, `${V1}Version`, recorded.requests[0]!.data);
  assert.ok(same.response?.equals(recorded.responses[0]!.data));

  assert.deepEqual(runtime.misses.map((m) => [m.method, m.reason, m.code]), [
    [`${V1}ListMetricDescriptors`, 'no-method', 12],
    [`${V1}Version`, 'no-equal', 5],
  ]);
  assert.deepEqual(runtime.misses[1]!.request, { version: 'v0' });
  assert.equal(runtime.misses[1]!.closest?.differences[0]?.path, 'version');

  await runtime.close();
  closed = true;
  const written = JSON.parse(await readFile(missesFile, 'utf8')).misses;
  assert.equal(written.length, 2);
  assert.equal(written[1].method, `${V1}Version`);
  assert.match(written[1].message, /differs in 1 field/);
});

test('on-exhausted error over the socket: the second Version call is NOT_FOUND', async (t) => {
  const runtime = await replay({ recording: SEED, onExhausted: 'error' });
  t.after(() => runtime.close());
  const client = rawClient(runtime.endpoint);
  t.after(() => client.close());
  const version = await recordedCall(SEED, 'Version');
  const first = await unaryCall(client, version.method, version.requests[0]!.data);
  assert.ok(first.response?.equals(version.responses[0]!.data));
  const second = await unaryCall(client, version.method, version.requests[0]!.data);
  assert.equal(second.error?.code, 5);
  assert.match(second.error!.details, /used up/);
});

test('sequence over the socket: out-of-order calls fail, the recorded order answers', async (t) => {
  const runtime = await replay({ recording: SEED, match: 'sequence' });
  t.after(() => runtime.close());
  const client = rawClient(runtime.endpoint);
  t.after(() => client.close());
  const status = await recordedCall(SEED, 'Status');
  const early = await unaryCall(client, status.method, status.requests[0]!.data);
  assert.equal(early.error?.code, 5);
  assert.match(early.error!.details, /out of sequence \(--match sequence\): call #0 of the recording is \/runtime\.v1\.RuntimeService\/Version/);
  const version = await recordedCall(SEED, 'Version');
  assert.ok((await unaryCall(client, version.method, version.requests[0]!.data)).response?.equals(version.responses[0]!.data));
  assert.ok((await unaryCall(client, status.method, status.requests[0]!.data)).response?.equals(status.responses[0]!.data));
});
