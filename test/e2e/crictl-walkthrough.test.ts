/**
 * The seed walkthrough with the real crictl (v1.26, an old Go client: it sends the socket path as
 * :authority) on both real runtimes, containerd and CRI-O. For each runtime: straight to the
 * runtime, then through `critap proxy`, then through `critap proxy --record`, then against
 * `critap replay` of that recording. Through critap every step answers as it does straight (masked
 * only where two direct runs differ too: see maskRunSpecifics); from the replay every step answers
 * exactly as in the recorded run, except the exec stream, whose URL points at the runtime's own
 * streaming server and whose one-time token the recorded run already used.
 */
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { openRecording } from '../../src/record/reader.js';
import { binariesOrSkip } from '../support/binaries.js';
import { startCliProxy, startCliReplay } from '../support/cli-proxy.js';
import { comparable, crictlWalk, differences, makeCrictl, type CrictlStep } from '../support/crictl.js';
import { RUNTIME_KINDS, runtimeOrSkip, type RuntimeKind } from '../support/runtimes.js';

function assertSameSteps(expected: CrictlStep[], actual: CrictlStep[], what: string, mask: (s: CrictlStep) => unknown): void {
  assert.deepEqual(actual.map((s) => s.name), expected.map((s) => s.name), `${what}: the same steps ran`);
  for (let i = 0; i < expected.length; i++) {
    const [e, a] = [mask(expected[i]!), mask(actual[i]!)];
    assert.deepEqual(a, e, `${what}: step "${expected[i]!.name}" differs:\n  ${differences(e, a).join('\n  ')}`);
  }
}

function assertWalkWorked(steps: CrictlStep[], what: string): void {
  for (const s of steps) assert.equal(s.code, 0, `${what}: crictl ${s.name} failed:\n${s.stderr}`);
  assert.equal(steps.length, 16, `${what}: every step ran`);
  const execSync = steps.find((s) => s.name === 'exec -s')!;
  // crictl 1.26 prints the ExecSync answer's stdout, then its stderr, both to its stdout, each with a newline added.
  assert.match(execSync.stdout, /^hi\n+hello\n+$/, 'ran in the container, with the env the config gave it');
  assert.equal(steps.find((s) => s.name === 'exec')!.stdout, 'hi from the stream\n');
}

/** Each crictl command lives a few milliseconds: its calls must still name it (found at accept). */
async function assertEveryCallNamesCrictl(recDir: string, crictl: string, kind: string): Promise<void> {
  const r = await openRecording(recDir);
  const unnamed: string[] = [];
  let n = 0;
  try {
    for await (const c of r.calls()) {
      n++;
      if (c.peer?.pid === undefined || basename(c.peer.exe ?? '') !== basename(crictl)) unnamed.push(`${c.method} ${JSON.stringify(c.peer ?? null)}`);
    }
  } finally {
    await r.close();
  }
  assert.ok(n >= 16, `${kind}: the recording holds the walk's calls (${n})`);
  assert.deepEqual(unnamed, [], `${kind}: every recorded call names the crictl process (${n - unnamed.length} of ${n} do)`);
}

async function walkOn(t: TestContext, kind: RuntimeKind): Promise<void> {
  const bins = binariesOrSkip(t, 'crictl');
  if (!bins) return;
  const rt = await runtimeOrSkip(t, kind);
  if (!rt) return;
  // One work folder for every run: the config files crictl sends, hence the requests, are the same.
  const opts = { image: rt.registry.image, workDir: join(rt.dir, 'walk') };
  const crictlFor = (endpoint: string, name: string) => makeCrictl(bins.crictl, endpoint, join(rt.dir, `crictl-${name}`));

  const straight = await crictlWalk(await crictlFor(rt.endpoint, 'direct'), opts);
  assertWalkWorked(straight, `${kind} direct`);
  const pod = (straight[4]!.json as { status: { network: { ip: string } } }).status.network.ip;
  assert.match(pod, /^10\.88\.\d+\.\d+$/, `${kind}: the pod got an address on its own bridge`);

  // a. through critap proxy
  const proxy = await startCliProxy(['--listen', join(rt.dir, 'proxy.sock'), '--upstream', rt.endpoint]);
  t.after(() => proxy.stop('SIGKILL'));
  const proxied = await crictlWalk(await crictlFor(proxy.endpoint, 'proxy'), opts);
  assertWalkWorked(proxied, `${kind} through critap`);
  assertSameSteps(straight, proxied, `${kind}: through critap vs direct`, comparable);
  assert.equal(await proxy.stop(), 0);

  // b. recorded, then replayed
  const recDir = join(rt.dir, 'recording');
  const recorder = await startCliProxy(['--listen', join(rt.dir, 'rec.sock'), '--upstream', rt.endpoint, '--record', recDir]);
  t.after(() => recorder.stop('SIGKILL'));
  const live = await crictlWalk(await crictlFor(recorder.endpoint, 'rec'), opts);
  assertWalkWorked(live, `${kind} through critap --record`);
  assertSameSteps(straight, live, `${kind}: through critap --record vs direct`, comparable);
  assert.equal(await recorder.stop(), 0, 'the recording proxy flushes and exits 0');
  await assertEveryCallNamesCrictl(recDir, bins.crictl, kind);

  const replay = await startCliReplay(recDir, ['--listen', join(rt.dir, 'replay.sock')]);
  t.after(() => replay.stop('SIGKILL'));
  const replayed = await crictlWalk(await crictlFor(`unix://${join(rt.dir, 'replay.sock')}`, 'replay'), opts);
  const notExec = (steps: CrictlStep[]) => steps.filter((s) => s.name !== 'exec');
  // The container's env value (GREETING=hello) was redacted by the recorder, which scrubs it (same
  // length, '*') wherever it comes back: in inspect's verbose info and in exec -s's stderr.
  const asRecorded = (steps: CrictlStep[]) => steps.map((s) => JSON.parse(JSON.stringify(s).split('hello').join('*****')) as CrictlStep);
  assertSameSteps(asRecorded(notExec(live)), notExec(replayed), `${kind}: replay vs the recorded run`, (s) => ({ ...s }));
  const exec = replayed.find((s) => s.name === 'exec')!;
  // The Exec call itself was answered (with the recorded URL); only the stream behind it cannot be replayed.
  assert.doesNotMatch(exec.stderr, /rpc error/, `${kind}: the replay answered Exec: ${exec.stderr}`);
  t.diagnostic(`${kind}: crictl exec against the replay: exit ${exec.code}, ${exec.stderr.trim().split('\n').pop()}`);
  assert.equal(await replay.stop(), 0);
}

test('crictl walkthrough: direct, through critap, recorded and replayed, on containerd and CRI-O', { timeout: 240_000, concurrency: 2 }, async (t) => {
  await Promise.all(RUNTIME_KINDS.map((kind) => t.test(kind, { timeout: 200_000 }, (st) => walkOn(st, kind))));
});
