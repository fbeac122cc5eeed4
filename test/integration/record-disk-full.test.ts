/**
 * The disk fills up while `critap proxy --record` writes: a tmpfs of a few MiB mounted by the test
 * (and unmounted after) holds the recording. Forwarding must go on untouched, the recorder must
 * say once that it stopped and count what it dropped, and once space is back (the tmpfs is
 * remounted larger) it must resume by itself; the recording then reopens whole and holds exactly
 * what its counters say.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRecording } from '../../src/record/reader.js';
import { startCliProxy } from '../support/cli-proxy.js';
import { layeredCleanup, type AddCleanup } from '../support/layered-cleanup.js';
import { rawClient, startFakeUpstream, unaryCall } from '../support/fake-upstream.js';

const EXEC_SYNC = '/runtime.v1.RuntimeService/ExecSync';
const ANSWER_BYTES = 256 * 1024;
/** Bounds: the disk is full long before this many calls (each stores ~256 KiB into 4 MiB). */
const MAX_CALLS_TO_FILL = 400;

function mountSmallTmpfs(t: TestContext, cleanup: AddCleanup, dir: string, size: string): boolean {
  if (process.getuid?.() !== 0) {
    const why = 'mounting a small tmpfs needs root';
    if (process.env['CI'] === 'true') assert.fail(why);
    t.skip(why);
    return false;
  }
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'critap-test-full', dir]);
  cleanup(() => {
    try {
      execFileSync('umount', [dir]);
    } catch {
      execFileSync('umount', ['-l', dir]);
    }
  });
  return true;
}

const logged = (log: string[], msg: string) => log.map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } }).filter((e) => e['msg'] === msg);

async function waitFor(what: () => string, check: () => boolean, step: () => Promise<void>, limit: number): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (check()) return;
    await step();
  }
  assert.ok(check(), what());
}

test('disk full while recording: forwarding goes on, one clear message, drops counted, recording resumes and reopens whole', { timeout: 120_000 }, async (t) => {
  const cleanup = layeredCleanup(t);
  const root = await mkdtemp(join(tmpdir(), 'critap-full-'));
  cleanup(() => rm(root, { recursive: true, force: true }));
  const disk = join(root, 'disk');
  execFileSync('mkdir', [disk]);
  if (!mountSmallTmpfs(t, cleanup, disk, '4m')) return;

  // New random bytes for every answer: a repeated byte would be stored packed
  // (src/record/packed-bodies.ts) in a few hundred bytes, and a repeated answer once
  // (src/record/repeated-bodies.ts); the disk would not fill.
  const up = await startFakeUpstream({ unary: { [EXEC_SYNC]: (_c, cb) => cb(null, randomBytes(ANSWER_BYTES)) } });
  cleanup(() => up.close());
  const proxy = await startCliProxy(['--listen', join(root, 'p.sock'), '--upstream', up.endpoint, '--record', join(disk, 'rec'), '--no-peer-lookup']);
  cleanup(() => proxy.stop('SIGKILL'));
  const client = rawClient(proxy.endpoint);
  cleanup(() => client.close());

  let calls = 0;
  const oneCall = async (): Promise<void> => {
    const r = await unaryCall(client, EXEC_SYNC, Buffer.alloc(0));
    assert.equal(r.error, undefined, `call ${calls + 1} was forwarded (${r.error?.message})`);
    assert.equal(r.response?.length, ANSWER_BYTES, 'the whole answer came back');
    calls++;
  };
  const stopped = () => logged(proxy.log, 'recorder stopped: the disk is full').length > 0;
  await waitFor(() => `the recorder said it stopped:\n${proxy.log.slice(-5).join('\n')}`, stopped, oneCall, MAX_CALLS_TO_FILL);
  // More calls while full: all forwarded, and the message is not repeated.
  for (let i = 0; i < 30; i++) await oneCall();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(logged(proxy.log, 'recorder stopped: the disk is full').length, 1, 'said once');
  const stopEntry = logged(proxy.log, 'recorder stopped: the disk is full')[0]!;
  assert.match(String(stopEntry['dir']), /rec$/);
  assert.match(String(stopEntry['hint']), /space/);

  // Space back: the recorder notices by itself and writes again.
  execFileSync('mount', ['-o', 'remount,size=64m', disk]);
  const resumed = () => logged(proxy.log, 'recorder resumed').length > 0;
  await waitFor(() => `the recorder resumed once space was back:\n${proxy.log.slice(-5).join('\n')}`, resumed, async () => {
    await oneCall();
    await new Promise((r) => setTimeout(r, 100));
  }, 200);
  const resumedEntry = logged(proxy.log, 'recorder resumed')[0]!;
  assert.ok(Number(resumedEntry['dropped']) > 0, 'it says how many calls it dropped while the disk was full');
  assert.deepEqual(logged(proxy.log, 'recorder dropped calls: the writer could not keep up'), [], 'no misleading "too slow" warning');
  assert.deepEqual(logged(proxy.log, 'recorder write failed; the calls of failed batches are counted as dropped'), [], 'no repeated write errors');
  for (let i = 0; i < 10; i++) await oneCall();
  client.close();
  assert.equal(await proxy.stop(), 0, 'the proxy flushes and exits 0');

  const r = await openRecording(join(disk, 'rec'));
  try {
    assert.equal(r.damage, undefined, `the recording reopens whole: ${r.damage}`);
    let stored = 0;
    for await (const c of r.calls()) {
      assert.equal(c.responses[0]?.data.length, ANSWER_BYTES);
      stored++;
    }
    const info = await r.info();
    assert.equal(stored, info.calls, 'it holds what its counters say');
    assert.equal(Number(resumedEntry['dropped']), info.dropped, 'the resume message counted every drop');
    assert.equal(info.recorded + info.dropped, calls, `every call is recorded or counted as dropped (${info.recorded} + ${info.dropped} of ${calls})`);
    assert.ok(info.dropped > 0 && info.recorded > 10, `some calls were dropped, others recorded before and after (${info.recorded}, ${info.dropped})`);
    t.diagnostic(`${calls} calls: ${info.recorded} recorded, ${info.dropped} dropped while the disk was full`);
  } finally {
    await r.close();
  }
});
