/**
 * --fallback sends misses to a runtime (here a fake one) and --record adds its answers to the
 * recording, like VCR's new episodes: the next replay answers them without any runtime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { encodeMessage } from '../../src/cri/codec.js';
import { loadRecordingCalls } from '../../src/replay/load.js';
import { replay } from '../../src/replay/index.js';
import { rawClient, startFakeUpstream, streamCall, unaryCall } from '../support/fake-upstream.js';
import { IMG, SEED, V1, recordedCall } from './replay-helpers.js';

const FS_INFO = `${IMG}ImageFsInfo`;
const EVENTS = `${V1}GetContainerEvents`;
const FS_ANSWER = encodeMessage('runtime.v1.ImageFsInfoResponse', { imageFilesystems: [{ fsId: { mountpoint: '/var/lib/fake' }, usedBytes: { value: '4096' } }] });
const EVENT = (id: string) => encodeMessage('runtime.v1.ContainerEventResponse', { containerId: id, containerEventType: 'CONTAINER_STARTED_EVENT' });

function readStream(client: grpc.Client, path: string): Promise<{ messages: Buffer[]; code: number }> {
  return new Promise((resolve) => {
    const messages: Buffer[] = [];
    const call = streamCall(client, path, Buffer.alloc(0));
    call.on('data', (b: Buffer) => messages.push(b));
    call.on('status', (s: grpc.StatusObject) => resolve({ messages, code: s.code }));
    call.on('error', () => {});
  });
}

test('misses go to the fallback runtime, and with record they are replayed next time without it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'critap-fallback-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rec = join(dir, 'rec');
  await cp(SEED, rec, { recursive: true });
  const seen: string[] = [];
  const fake = await startFakeUpstream({
    unary: {
      [FS_INFO]: (call, cb) => {
        seen.push(call.getPath());
        const md = new grpc.Metadata();
        md.set('x-from', 'fake-runtime');
        call.sendMetadata(md);
        cb(null, FS_ANSWER);
      },
    },
    stream: {
      [EVENTS]: (call) => {
        seen.push(call.getPath());
        call.write(EVENT('c1'));
        call.write(EVENT('c2'));
        call.end();
      },
    },
  });
  t.after(() => fake.close());

  const first = await replay({ recording: rec, fallback: fake.endpoint, record: true });
  const client = rawClient(first.endpoint);
  try {
    const fs = await unaryCall(client, FS_INFO, Buffer.alloc(0));
    assert.ok(fs.response?.equals(FS_ANSWER), 'the fallback answered');
    assert.deepEqual(fs.headers?.get('x-from'), ['fake-runtime']);
    const stream = await readStream(client, EVENTS);
    assert.equal(stream.code, 0);
    assert.deepEqual(stream.messages, [EVENT('c1'), EVENT('c2')]);
    // A recorded call is answered from the recording, not sent to the runtime.
    const version = await recordedCall(SEED, 'Version');
    assert.ok((await unaryCall(client, version.method, version.requests[0]!.data)).response?.equals(version.responses[0]!.data));
    assert.deepEqual(seen, [FS_INFO, EVENTS]);
    assert.deepEqual(first.misses.map((m) => [m.method, m.fallback]), [
      [FS_INFO, true],
      [EVENTS, true],
    ]);
    // The added call answers a repeat at once, within the same session.
    assert.ok((await unaryCall(client, FS_INFO, Buffer.alloc(0))).response?.equals(FS_ANSWER));
    assert.equal(seen.length, 2);
  } finally {
    client.close();
    await first.close();
  }

  const calls = await loadRecordingCalls(rec);
  assert.equal(calls.length, 20, 'two calls added to the 18 recorded');
  await fake.close();

  const second = await replay({ recording: rec });
  const again = rawClient(second.endpoint);
  try {
    const fs = await unaryCall(again, FS_INFO, Buffer.alloc(0));
    assert.ok(fs.response?.equals(FS_ANSWER), 'answered from the recording, no runtime running');
    const stream = await readStream(again, EVENTS);
    assert.deepEqual(stream.messages, [EVENT('c1'), EVENT('c2')]);
    assert.equal(stream.code, 0);
    assert.deepEqual(second.misses, []);
  } finally {
    again.close();
    await second.close();
  }
});

test('without record the recording is left as it was', async (t) => {
  const fake = await startFakeUpstream({ unary: { [FS_INFO]: (_call, cb) => cb(null, FS_ANSWER) } });
  t.after(() => fake.close());
  const dir = await mkdtemp(join(tmpdir(), 'critap-fallback-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rec = join(dir, 'rec');
  await cp(SEED, rec, { recursive: true });
  const runtime = await replay({ recording: rec, fallback: fake.endpoint });
  const client = rawClient(runtime.endpoint);
  try {
    assert.ok((await unaryCall(client, FS_INFO, Buffer.alloc(0))).response?.equals(FS_ANSWER));
  } finally {
    client.close();
    await runtime.close();
  }
  assert.equal((await loadRecordingCalls(rec)).length, 18);
});
