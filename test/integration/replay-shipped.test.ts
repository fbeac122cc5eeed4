/**
 * Offline replay of the shipped recordings: every recorded request, sent again, gets exactly the
 * recorded answer (bytes, status, headers) with no runtime anywhere; and replaying leaves the
 * committed recording files as they were.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replay } from '../../src/replay/index.js';
import { fromMetadata, toMetadata } from '../../src/replay/answer.js';
import { rawClient, streamCall, unaryCall } from '../support/fake-upstream.js';
import { EVENTS, SEED, V1, recordedCalls, recordingsGitStatus } from './replay-helpers.js';

const before = recordingsGitStatus();

test('seed walkthrough: each recorded request gets the recorded answer, byte for byte', async (t) => {
  const calls = await recordedCalls(SEED);
  assert.equal(calls.length, 18);
  const runtime = await replay({ recording: SEED });
  t.after(() => runtime.close());
  const client = rawClient(runtime.endpoint);
  t.after(() => client.close());
  for (const c of calls) {
    const r = await unaryCall(client, c.method, c.requests[0]!.data);
    assert.equal(r.status?.code, c.status.code, c.method);
    assert.ok(r.response?.equals(c.responses[0]!.data), `${c.method}: answer bytes differ from the recording`);
    // Compared without the headers grpc-js writes itself (content-type, date).
    assert.deepEqual(fromMetadata(toMetadata(fromMetadata(r.headers))), fromMetadata(toMetadata(c.responseHeaders)), `${c.method}: headers`);
  }
  assert.deepEqual(runtime.misses, []);
  assert.equal(runtime.answered(), 18);
});

test('events recording: the stream replays every recorded message, then stays open like the runtime did', async (t) => {
  const [rec] = await recordedCalls(EVENTS);
  assert.equal(rec!.method, `${V1}GetContainerEvents`);
  assert.equal(rec!.end, 'client-reset');
  const runtime = await replay({ recording: EVENTS });
  t.after(() => runtime.close());
  const client = rawClient(runtime.endpoint);
  t.after(() => client.close());
  const got: Buffer[] = [];
  const ended = await new Promise<string>((resolve) => {
    const call = streamCall(client, rec!.method, rec!.requests[0]?.data ?? Buffer.alloc(0));
    call.on('data', (b: Buffer) => {
      got.push(b);
      // After the last recorded event, wait a little: nothing more may come and the stream must not end.
      if (got.length === rec!.responses.length) setTimeout(() => call.cancel(), 150);
    });
    call.on('error', (e: { code: number }) => resolve(e.code === 1 ? 'cancelled by us' : `error ${e.code}`));
    call.on('end', () => resolve('ended by the server'));
  });
  assert.equal(ended, 'cancelled by us');
  assert.equal(got.length, 4);
  got.forEach((b, i) => assert.ok(b.equals(rec!.responses[i]!.data), `message ${i}`));
  assert.deepEqual(runtime.misses, []);
});

test('replaying did not modify the committed recordings', () => {
  const after = recordingsGitStatus();
  if (before === undefined || after === undefined) return; // not a git checkout
  assert.equal(after, before);
});
