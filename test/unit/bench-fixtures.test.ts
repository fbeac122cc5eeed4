import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage } from '../../src/cri/codec.js';
import { containerEvent, execSyncRequest, execSyncResponse, listContainersResponse, MiB, syntheticCallMaker } from '../../bench/fixtures.js';

test('the hand-encoded ExecSyncResponse decodes to stdout of the asked size', () => {
  for (const size of [0, 1, 127, 128, 300, 8 * MiB]) {
    const bytes = execSyncResponse(size);
    const json = decodeMessage('runtime.v1.ExecSyncResponse', bytes);
    const stdout = json.stdout === undefined ? Buffer.alloc(0) : Buffer.from(String(json.stdout), 'base64');
    assert.equal(stdout.length, size, `size ${size}`);
  }
});

test('each ExecSync size has its own request bytes (the fake answers by request)', () => {
  assert.notDeepEqual(execSyncRequest(8 * MiB), execSyncRequest(64 * MiB));
  assert.deepEqual(execSyncRequest(8 * MiB), execSyncRequest(8 * MiB));
});

test('ListContainers and event fixtures are real CRI messages', () => {
  const list = decodeMessage('runtime.v1.ListContainersResponse', listContainersResponse(300));
  assert.equal((list.containers as unknown[]).length, 300);
  const ev = decodeMessage('runtime.v1.ContainerEventResponse', containerEvent(3));
  assert.equal(ev.containerEventType, 'CONTAINER_STARTED_EVENT');
});

test('synthetic calls have distinct start times and consistent byte counts', () => {
  const make = syntheticCallMaker();
  const a = make(0);
  const b = make(1);
  assert.notEqual(a.startNs, b.startNs);
  assert.equal(a.requestBytes, a.requests[0]!.data.length + 5);
  assert.equal(b.responseBytes, b.responses[0]!.data.length + 5);
});
