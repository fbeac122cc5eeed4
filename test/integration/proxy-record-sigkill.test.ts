/**
 * Durability through the whole proxy, as deployed: `critap proxy --record` (observers on their own
 * thread) is SIGKILLed while a client keeps calling. The recording opens again and holds every call
 * whose answer reached the client more than 250 ms before the kill.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRecording } from '../../src/record/reader.js';
import { startCliProxy } from '../support/cli-proxy.js';
import { rawClient, startFakeUpstream, tempSocketPath, unaryCall } from '../support/fake-upstream.js';

/** A real VersionRequest whose `version` field is the call's sequence number. */
function versionRequest(version: string): Buffer {
  const text = Buffer.from(version);
  return Buffer.concat([Buffer.from([0x0a, text.length]), text]);
}

test('SIGKILL of a recording proxy loses at most the calls of the last 250 ms', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-kill-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const up = await startFakeUpstream({ unary: { '/runtime.v1.RuntimeService/Version': (call, cb) => cb(null, call.request) } });
  t.after(() => up.close());
  const recDir = join(root, 'rec');
  const proxy = await startCliProxy(['--listen', tempSocketPath('critap'), '--upstream', up.endpoint, '--record', recDir]);
  t.after(() => proxy.stop('SIGKILL'));

  const client = rawClient(proxy.endpoint);
  t.after(() => client.close());
  // Each request carries its sequence number; remember when each answer arrived.
  const answeredAt: number[] = [];
  let stop = false;
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      const r = await unaryCall(client, '/runtime.v1.RuntimeService/Version', versionRequest(String(i)));
      if (r.error) break;
      answeredAt[i] = performance.now();
    }
  })();
  await new Promise((r) => setTimeout(r, 1500));
  const killedAt = performance.now();
  proxy.child.kill('SIGKILL');
  stop = true;
  await loop;
  await proxy.stop('SIGKILL');

  const due = answeredAt.filter((at) => at < killedAt - 250).length;
  assert.ok(due > 50, `the client made calls before the kill (${due})`);
  const reader = await openRecording(recDir);
  const seen = new Set<number>();
  for await (const call of reader.calls()) seen.add(Number(call.requests[0]!.data.subarray(2).toString()));
  await reader.close();
  const missing = [];
  for (let i = 0; i < answeredAt.length; i++) if (answeredAt[i]! < killedAt - 250 && !seen.has(i)) missing.push(i);
  assert.deepEqual(missing, [], `calls answered over 250 ms before the kill but not in the recording (of ${due})`);
});
