import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callToJsonl, JsonlLines } from '../../src/record/jsonl.js';
import type { StoredCall } from '../../src/record/stored-call.js';
import { makeCall, T0, V1 } from './record-fixtures.js';

/** A relist answer well over the size from which JsonlLines keeps a body's text. */
function listContainers(containers: number, startNs: bigint, name = 'main'): StoredCall {
  const items = Array.from({ length: containers }, (_, i) => ({
    id: `c${i}`.padEnd(64, '0'),
    podSandboxId: `s${i}`.padEnd(64, '0'),
    metadata: { name, attempt: 0 },
    state: 'CONTAINER_RUNNING',
    labels: { 'io.kubernetes.pod.name': `pod-${i}`, 'io.kubernetes.pod.namespace': 'prod' },
  }));
  return { ...makeCall({ method: V1 + 'ListContainers', responses: [{ containers: items }], startNs }), key: '', ids: {} };
}

const plain = (call: StoredCall) => callToJsonl(call) + '\n';

test('export lines are the bytes of callToJsonl, for repeated, changed, streamed, compressed and undecodable bodies', () => {
  const big = listContainers(40, T0);
  assert.ok(big.responses[0]!.data.length > 4096);
  const changed = listContainers(40, T0 + 2n, 'mane'); // as long as 'main': only the bytes differ
  const events: StoredCall = {
    ...makeCall({ method: V1 + 'GetContainerEvents', responses: [{ containerId: 'x'.repeat(2000) }, { containerId: 'x'.repeat(2000) }, { containerId: 'y' }] }),
    key: '',
    ids: {},
  };
  const compressed: StoredCall = { ...big, responses: [{ ...big.responses[0]!, compressed: true }] };
  const undecodable: StoredCall = { ...big, responses: [{ offsetNs: 1, data: Buffer.alloc(3000, 0xff) }] };
  const unknown: StoredCall = { ...big, method: '/vendor.Thing/Watch', responses: [big.responses[0]!, big.responses[0]!] };
  const sequence = [big, { ...big, startNs: T0 + 1n }, changed, big, events, compressed, undecodable, unknown, { ...changed, startNs: T0 + 9n }];
  const lines = new JsonlLines();
  for (const call of sequence) {
    // A fresh copy of the bytes each time, as a recording reader hands them out.
    const copy = { ...call, responses: call.responses.map((m) => ({ ...m, data: Buffer.from(m.data) })) };
    assert.equal(lines.line(copy).toString(), plain(call));
  }
  assert.equal(new JsonlLines().line(big, false).toString(), callToJsonl(big, false) + '\n');
});

test('a recorded string that contains the placeholder tag does not confuse the line', () => {
  const tag = '@critap-part-TESTTAG-';
  const big = listContainers(40, T0);
  // The big answer's base64 and view are placeholders 0 and 1; metadata comes after them in a line.
  for (const forged of [`${tag}0@`, `${tag}1@`, `${tag}2@`, `x"${tag}0@"y`, `${tag}`]) {
    const inMessage: StoredCall = { ...big, status: { code: 0, message: forged } };
    const inMetadata: StoredCall = { ...big, requestMetadata: [['x-note', forged]] };
    const lines = new JsonlLines(tag);
    assert.equal(lines.line(big).toString(), plain(big));
    for (const call of [inMessage, inMetadata]) assert.equal(lines.line(call).toString(), plain(call), forged);
    assert.equal(JSON.parse(lines.line(inMessage).toString()).status.message, forged);
  }
});
