/**
 * GetContainerEvents against a replay that follows the life cycle, over a real socket: a client
 * subscribed to events gets one for each of its own container changes, as it makes them; the
 * stream stays open until the client leaves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallRecord } from '../../src/call.js';
import { decodeMessage, encodeMessage } from '../../src/cri/codec.js';
import { resolveMethodName } from '../../src/cri/methods.js';
import { createRecording } from '../../src/record/writer.js';
import { replay } from '../../src/replay/index.js';
import { rawClient, streamCall, unaryCall } from '../support/fake-upstream.js';

const S = '5b'.repeat(32);
const C = 'c2'.repeat(32);

function rec(method: string, request: Record<string, unknown>, response: Record<string, unknown>, end: CallRecord['end'] = 'trailers'): CallRecord {
  const info = resolveMethodName(method)!;
  const data = encodeMessage(info.responseType, response);
  return {
    method: info.path, startNs: 1n, durationNs: 1000, requests: [{ offsetNs: 0, data: encodeMessage(info.requestType, request) }],
    responses: [{ offsetNs: 0, data }], status: { code: 0, message: '' }, end, requestMetadata: [], responseHeaders: [], responseTrailers: [],
    requestBytes: 0, responseBytes: data.length + 5,
  };
}

const req = (method: string, body: Record<string, unknown>) => encodeMessage(resolveMethodName(method)!.requestType, body);

test('a GetContainerEvents stream gets the client\'s own container events as its calls make them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'critap-events-live-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pod = { metadata: { name: 'p', uid: 'u', namespace: 'n' } };
  const writer = await createRecording(join(dir, 'rec'));
  await writer.append(
    rec('GetContainerEvents', {}, { containerId: C, containerEventType: 'CONTAINER_STARTED_EVENT' }, 'client-reset'),
    rec('RunPodSandbox', { config: pod }, { podSandboxId: S }),
    rec('CreateContainer', { podSandboxId: S, config: { metadata: { name: 'c' } }, sandboxConfig: pod }, { containerId: C }),
    rec('StartContainer', { containerId: C }, {}),
    rec('ContainerStatus', { containerId: C }, { status: { id: C, metadata: { name: 'c' }, state: 'CONTAINER_RUNNING' } }),
  );
  await writer.close();
  const runtime = await replay({ recording: join(dir, 'rec') });
  t.after(() => runtime.close());
  const client = rawClient(runtime.endpoint);
  t.after(() => client.close());

  const events: Record<string, unknown>[] = [];
  const stream = streamCall(client, resolveMethodName('GetContainerEvents')!.path, Buffer.alloc(0));
  const ended = new Promise<number>((resolve) => {
    stream.on('error', (e: { code: number }) => resolve(e.code));
    stream.on('end', () => resolve(-1));
  });
  const two = new Promise<void>((resolve) =>
    stream.on('data', (b: Buffer) => {
      events.push(decodeMessage('runtime.v1.ContainerEventResponse', b));
      if (events.length === 2) resolve();
    }),
  );
  await new Promise((r) => setTimeout(r, 50)); // subscribed before the first change
  assert.equal(events.length, 0, 'no event before the client changes anything');
  await unaryCall(client, resolveMethodName('RunPodSandbox')!.path, req('RunPodSandbox', { config: pod }));
  await unaryCall(client, resolveMethodName('CreateContainer')!.path, req('CreateContainer', { podSandboxId: S, config: { metadata: { name: 'c' } }, sandboxConfig: pod }));
  await unaryCall(client, resolveMethodName('StartContainer')!.path, req('StartContainer', { containerId: C }));
  await two;
  assert.deepEqual(events.map((e) => [e.containerId, e.containerEventType ?? 'CONTAINER_CREATED_EVENT']), [
    [C, 'CONTAINER_CREATED_EVENT'],
    [C, 'CONTAINER_STARTED_EVENT'],
  ]);
  stream.cancel();
  assert.equal(await ended, 1, 'open until the client cancelled it');
  assert.deepEqual(runtime.misses, []);
  assert.equal(runtime.counts()['state-chosen'] >= 1, true);
});
