/**
 * A long recording of a busy node: its relist answers repeat between changes. Replay holds each
 * different body once (replay/shared-bodies.ts) and still answers every call with its own
 * recorded bytes, in recorded order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bigNodeCalls, writeBigNodeRecording, type BigNodeShape } from '../../bench/big-node.js';
import { loadRecordingCalls } from '../../src/replay/load.js';
import { replay } from '../../src/replay/index.js';
import { makeCriClient, type CriMessage } from '../support/cri-client.js';
import { decodeMessage } from '../../src/cri/codec.js';

// Restarts at seconds 15 and 30: three different ListContainers answers, one ListPodSandbox answer.
const SHAPE: BigNodeShape = { seconds: 40, pods: 30, statsEvery: 10, restartEvery: 15 };

async function withRecording(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'critap-long-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rec = join(dir, 'rec');
  await writeBigNodeRecording(rec, SHAPE);
  return rec;
}

const byMethod = <T extends { method: string }>(calls: T[], name: string) => calls.filter((c) => c.method.endsWith(`/${name}`));

test('equal recorded answers are one buffer after loading; every call keeps its own bytes', async (t) => {
  const rec = await withRecording(t);
  const calls = await loadRecordingCalls(rec);
  const expected = [...bigNodeCalls(SHAPE)];
  assert.equal(calls.length, expected.length);
  calls.forEach((c, i) => assert.ok(c.responses[0]!.data.equals(expected[i]!.responses[0]!.data), `call ${i} (${c.method}) answers as recorded`));

  const lists = byMethod(calls, 'ListContainers').map((c) => c.responses[0]!.data);
  assert.equal(lists.length, 40);
  assert.ok(lists[0]!.length > 16 * 1024, 'large answers, as a busy node has');
  assert.equal(new Set(lists).size, 3, 'three different ListContainers answers, three buffers');
  assert.equal(lists[14], lists[0]);
  assert.notEqual(lists[15], lists[14]);
  assert.equal(new Set(byMethod(calls, 'ListPodSandbox').map((c) => c.responses[0]!.data)).size, 1);
  assert.equal(new Set(byMethod(calls, 'ListContainerStats').map((c) => c.responses[0]!.data)).size, 4, 'stats never repeat');
  // A 5-byte request is not a view that keeps its whole stored value alive.
  for (const c of calls) assert.ok(c.requests[0]!.data.buffer.byteLength <= 8192, `${c.method}'s request holds ${c.requests[0]!.data.buffer.byteLength} bytes`);
});

test('replay serves the shared answers in recorded order (no state), and lists the node (state on)', async (t) => {
  const rec = await withRecording(t);
  const expected = byMethod([...bigNodeCalls(SHAPE)], 'ListContainers').map((c) => decodeMessage('runtime.v1.ListContainersResponse', c.responses[0]!.data));

  const plain = await replay({ recording: rec, match: 'exact', state: false });
  const cri = makeCriClient(plain.endpoint);
  try {
    const ids = (r: CriMessage) => (r.containers as Array<{ id: string }>).map((x) => x.id).sort();
    const recordedIds = (j: Record<string, unknown>) => (j.containers as Array<{ id: string }>).map((x) => x.id).sort();
    for (let i = 0; i < 40; i++) {
      const got = await cri.runtime('ListContainers', {});
      assert.deepEqual(ids(got), recordedIds(expected[i]!), `ListContainers call ${i}`);
    }
  } finally {
    cri.close();
    await plain.close();
  }
  assert.deepEqual(plain.misses, []);

  const stateful = await replay({ recording: rec, match: 'nearest' });
  const cri2 = makeCriClient(stateful.endpoint);
  try {
    const got = await cri2.runtime('ListContainers', {});
    assert.ok(got.containers.length >= 60, `the node's 60 containers are listed (got ${got.containers.length})`);
    const pods = await cri2.runtime('ListPodSandbox', {});
    assert.equal(pods.items.length, 30);
  } finally {
    cri2.close();
    await stateful.close();
  }
  assert.deepEqual(stateful.misses, []);
});
