import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesText, humanMessage } from '../../src/cri/human-view.js';
import { requestSummary, NameBook, targetOf } from '../../src/record/call-summary.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('human view: enum zeros by name, exitCode 0, text bytes as text, ns times as RFC 3339', () => {
  const created = humanMessage('runtime.v1.ContainerStatusResponse', { status: { id: 'c1', createdAt: '1795740561366521817' } }) as { status: Record<string, unknown> };
  assert.equal(created.status['state'], 'CONTAINER_CREATED');
  assert.equal(created.status['exitCode'], 0);
  assert.equal(created.status['createdAt'], '2026-11-27T00:49:21.366521817Z');
  assert.equal(created.status['startedAt'], undefined, 'an absent time stays absent');
  const exec = humanMessage('runtime.v1.ExecSyncResponse', { stdout: b64('hi\n'), stderr: b64('\u0000\u0001bin') });
  assert.deepEqual(exec, { stdout: 'hi\n', stderr: b64('\u0000\u0001bin'), exitCode: 0 });
  // Undecodable bodies pass through as callView marked them.
  assert.deepEqual(humanMessage('runtime.v1.ExecSyncResponse', { '@raw': 'AAE=' }), { '@raw': 'AAE=' });
  assert.equal(bytesText(Buffer.from([0xff, 0xfe]).toString('base64')), '//4=', 'not UTF-8: base64 kept');
});

test('request summaries and the pod/container column, names learnt from earlier calls', () => {
  assert.equal(requestSummary('/runtime.v1.ImageService/PullImage', { image: { image: '127.0.0.1:5000/pause:3.9' } }), '127.0.0.1:5000/pause:3.9');
  assert.equal(requestSummary('/runtime.v1.RuntimeService/ExecSync', { cmd: ['cat', '/etc/hosts'], timeout: '5' }), 'cat /etc/hosts timeout=5s');
  assert.equal(requestSummary('/runtime.v1.RuntimeService/ListContainers', { filter: { podSandboxId: 'sb1' } }), 'filter podSandboxId=sb1');
  const names = new NameBook();
  names.complete({ podSandboxId: 'sb-1234567890abcdef', podName: 'web', podNamespace: 'prod' });
  names.complete({ podSandboxId: 'sb-1234567890abcdef', containerId: 'c-1234567890abcdef', containerName: 'app' });
  assert.equal(targetOf(names.complete({ containerId: 'c-1234567890abcdef' })), 'prod/web app');
  assert.equal(targetOf({ containerId: 'c-0000000000000000000' }), 'c-00000000000');
  assert.equal(targetOf({}), '-');
});
