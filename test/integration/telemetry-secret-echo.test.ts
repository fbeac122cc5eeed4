import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { createObservers } from '../../src/observe/observers.js';
import { openRecording } from '../../src/record/reader.js';
import { startOtlpReceiver, type AttrValue } from '../support/otlp-receiver.js';
import { createContainer, makeCall, SECRET_ENV, T0, V1 } from '../unit/record-fixtures.js';

function strings(v: AttrValue): string[] {
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return [];
  if (typeof v === 'string') return [v];
  if (Buffer.isBuffer(v)) return [v.toString('utf8')];
  if (Array.isArray(v)) return v.flatMap(strings);
  return Object.entries(v).flatMap(([k, x]) => [k, ...strings(x)]);
}

test('a redacted env value quoted by a later error reaches neither a live span nor the recording', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const root = await mkdtemp(join(tmpdir(), 'critap-span-echo-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const observers = await createObservers({ upstream: 'unix:///run/containerd/containerd.sock', otlpEndpoint: receiver.url, record: dir }, createLogger({ write: () => {} }));
  const echoed = {
    ...makeCall({ method: V1 + 'StartContainer', request: { containerId: 'ctr-1' }, code: 2, startNs: T0 + 1_000_000n }),
    status: { code: 2, message: `exec failed: "${SECRET_ENV}": not found` },
  };
  const failures: unknown[] = [];
  for (const call of [createContainer('sb-1', 'ctr-1', T0), echoed]) observers.onCallEnd(call, (e) => failures.push(e));
  await observers.close();
  assert.deepEqual(failures, []);

  const spans = await receiver.waitForSpans(2);
  const start = spans.find((s) => s.name.endsWith('StartContainer'));
  assert.ok(start, spans.map((s) => s.name).join(', '));
  assert.match(start.status.message, /^exec failed: "\*+": not found$/, 'the rest of the message stays');
  const texts = spans.flatMap((s) => [s.status.message, ...Object.values(s.attributes).flatMap(strings), ...s.events.flatMap((e) => Object.values(e.attributes).flatMap(strings))]);
  assert.deepEqual(texts.filter((x) => x.includes(SECRET_ENV)), []);

  const r = await openRecording(dir);
  const stored = [];
  for await (const c of r.calls()) stored.push(c);
  await r.close();
  assert.equal(stored.length, 2);
  assert.doesNotMatch(stored[1]!.status.message, new RegExp(SECRET_ENV));
});
