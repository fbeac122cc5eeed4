/**
 * Life cycles repeat: the seed walk recorded once through `critap proxy --record` against a real
 * containerd, then run three times in a row against one `critap replay` of that recording with no
 * runtime behind it. Each run gets new pod and container ids and otherwise the live run's answers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { replay } from '../../src/replay/index.js';
import { startCliProxy } from '../support/cli-proxy.js';
import { makeCriClient } from '../support/cri-client.js';
import { tempSocketPath } from '../support/fake-upstream.js';
import { realRuntimeOrSkip } from '../support/runtime.js';
import { assertSameAnswers, seedWalkthrough, type WalkStep } from '../support/walkthrough.js';

function idsOf(steps: WalkStep[]): { pod: string; container: string } {
  const pod = steps.find((s) => s.method === 'RunPodSandbox')!.response.pod_sandbox_id as string;
  const container = steps.find((s) => s.method === 'CreateContainer')!.response.container_id as string;
  return { pod, container };
}

test('the seed walk three times against one replay of one recorded walk: new ids each run, the same answers otherwise', { timeout: 180_000 }, async (t) => {
  const rt = await realRuntimeOrSkip(t);
  if (!rt) return;
  const root = await mkdtemp(join(tmpdir(), 'critap-replay-walk-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const recDir = join(root, 'rec');
  const proxy = await startCliProxy(['--listen', tempSocketPath('critap'), '--upstream', rt.endpoint, '--record', recDir]);
  const live = makeCriClient(proxy.endpoint);
  const opts = { image: rt.registry.image, logDir: rt.dir };
  let liveSteps: WalkStep[];
  try {
    liveSteps = await seedWalkthrough(live, opts);
  } finally {
    live.close();
    await proxy.stop('SIGTERM');
  }
  await rt.stop(); // nothing answers but the replay from here on

  const runtime = await replay({ recording: recDir });
  t.after(() => runtime.close());
  const cri = makeCriClient(runtime.endpoint);
  t.after(() => cri.close());
  // The walk's container prints its env value GREETING=hello on stderr; the recorder redacted that
  // value from CreateContainer and so scrubs it wherever it comes back (same length, '*').
  const expected = liveSteps.map((s) =>
    s.method === 'ExecSync' ? { ...s, response: { ...s.response, stderr: Buffer.from(String(s.response.stderr).replace('hello', '*****')) } } : s,
  );
  const seen = [idsOf(liveSteps)];
  for (let run = 1; run <= 3; run++) {
    const steps = await seedWalkthrough(cri, opts);
    assertSameAnswers(expected, steps);
    seen.push(idsOf(steps));
  }
  assert.deepEqual(runtime.misses, []);
  // Run 1 is the recorded life itself (the recorded ids); runs 2 and 3 are new lives of it.
  assert.deepEqual(seen[1], seen[0]);
  const pods = new Set(seen.slice(1).map((s) => s.pod));
  const containers = new Set(seen.slice(1).map((s) => s.container));
  assert.equal(pods.size, 3, `three runs, three pod ids: ${[...pods].join(', ')}`);
  assert.equal(containers.size, 3, `three runs, three container ids: ${[...containers].join(', ')}`);
  for (const s of seen.slice(2)) {
    assert.match(s.pod, /^[0-9a-f]{64}$/);
    assert.match(s.container, /^[0-9a-f]{64}$/);
  }
  const counts = runtime.counts();
  assert.equal(counts.miss, 0);
  assert.ok(counts.templated > 0, 'runs 2 and 3 are templated lives');
});
