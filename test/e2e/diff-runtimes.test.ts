/**
 * `critap diff` on two recordings of the seed walkthrough, one made through `critap proxy
 * --record` in front of a real containerd and one in front of a real CRI-O: the calls align one
 * for one, and what differs is what is known to differ between the two runtimes (the Version
 * answer, the Exec URL's streaming server path, the image's size and id, PodSandboxStatus' and
 * ContainerStatus' extras), nothing else. The same walk against containerd twice differs in nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test, { type TestContext } from 'node:test';
import type { DiffResult } from '../../src/diff/compare.js';
import { makeCriClient } from '../support/cri-client.js';
import { CRITAP_BIN, startCliProxy } from '../support/cli-proxy.js';
import { tempSocketPath } from '../support/fake-upstream.js';
import { runtimeOrSkip, type RuntimeKind } from '../support/runtimes.js';
import { seedWalkthrough } from '../support/walkthrough.js';
import { repoRoot } from '../support/paths.js';

const run = promisify(execFile);
const critap = (...args: string[]) => run(process.execPath, [CRITAP_BIN, ...args], { maxBuffer: 64 * 1024 * 1024 });

/** Records the seed walkthrough against a runtime of this kind; undefined when it was skipped. */
async function recordWalk(t: TestContext, kind: RuntimeKind, dir: string): Promise<boolean> {
  const rt = await runtimeOrSkip(t, kind);
  if (!rt) return false;
  const proxy = await startCliProxy(['--listen', tempSocketPath('critap'), '--upstream', rt.endpoint, '--record', dir]);
  t.after(() => proxy.stop('SIGKILL'));
  const cri = makeCriClient(proxy.endpoint);
  try {
    await seedWalkthrough(cri, { image: rt.registry.image, logDir: rt.dir });
  } finally {
    cri.close();
  }
  assert.equal(await proxy.stop('SIGTERM'), 0);
  return true;
}

/** Each difference a containerd 1.6 and a CRI-O 1.26 answer to the same walk shows: call, field path. */
const KNOWN: [RegExp, RegExp][] = [
  // Who answers.
  [/^node · Version #1$/, /^response\.runtime(Name|Version)$/],
  // containerd answers a pull with the image id, CRI-O with a digest reference.
  [/^pod critap-e2e\/critap-walk · PullImage #1$/, /^response\.imageRef$/],
  [/^node · ListContainers #1$/, /^response\.containers\[0\]\.imageRef$/],
  // containerd lists its sandbox image too, ids are "sha256:…" there and bare hex in CRI-O, sizes differ.
  [/^node · ListImages #1$/, /^response\.images\[[01]\]\.(id|size|repoTags\[0\]|repoDigests\[0\])$/],
  // CRI-O adds the io.kubernetes.* labels to a sandbox it reports.
  [/^pod critap-e2e\/critap-walk · PodSandboxStatus #1$/, /^response\.status\.labels\.io\.kubernetes\.(pod\.(name|namespace|uid)|container\.name)$/],
  [/^node · ListPodSandbox #1$/, /^response\.items\[0\]\.labels\.io\.kubernetes\.(pod\.(name|namespace|uid)|container\.name)$/],
  // containerd reports an empty resources.linux.
  [/^pod critap-e2e\/critap-walk · container sleeper · ContainerStatus #1$/, /^response\.status\.resources\.linux$/],
];

test('critap diff: the seed walk on containerd twice differs in nothing; on containerd and on CRI-O only where the runtimes are known to', { timeout: 300_000 }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-diff-e2e-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const [first, second, crio] = [join(root, 'containerd-1'), join(root, 'containerd-2'), join(root, 'crio')];
  if (!(await recordWalk(t, 'containerd', first))) return;
  if (!(await recordWalk(t, 'containerd', second))) return;
  if (!(await recordWalk(t, 'crio', crio))) return;

  // Two runs on two containerds: new ids, times, IPs, ports and temp folders, all masked.
  const same = JSON.parse((await critap('diff', first, second, '--json')).stdout) as DiffResult;
  assert.deepEqual(same.differing, []);
  assert.deepEqual([same.aligned, same.onlyInA, same.onlyInB], [18, [], []]);

  const d = JSON.parse((await critap('diff', first, crio, '--json')).stdout) as DiffResult;
  assert.deepEqual([d.aligned, d.onlyInA, d.onlyInB], [18, [], []], 'every call has its counterpart');
  const unexplained = d.differing.flatMap((c) => c.fields.filter((f) => !KNOWN.some(([k, p]) => k.test(c.key) && p.test(f.path))).map((f) => ({ key: c.key, ...f })));
  assert.deepEqual(unexplained, [], 'no difference beyond the known ones');
  for (const [k, p] of KNOWN) {
    assert.ok(d.differing.some((c) => k.test(c.key) && c.fields.some((f) => p.test(f.path))), `the known difference ${k} ${p} shows`);
  }
  assert.equal(d.latency.length, 18);
  for (const r of d.latency) assert.equal(r.ratio, Math.round((r.p50B! / r.p50A!) * 100) / 100, r.method);

  // The text view and the HTML report say the same.
  const text = (await critap('diff', first, crio)).stdout;
  assert.match(text, /18 calls aligned by life cycle: \d+ equal, 7 differ; 0 only in a, 0 only in b/);
  assert.match(text, /node · Version #1\n {2}response\.runtimeName: a="containerd" {2}b="cri-o"/);
  const exit = await critap('diff', first, crio, '--exit-code').then(() => 0, (e: { code: number }) => e.code);
  assert.equal(exit, 1, '--exit-code: they differ');
  // The page is kept as a test artifact for people to look at (test/integration/report-browser opens such pages in Chromium).
  await mkdir(join(repoRoot(), 'test-artifacts'), { recursive: true });
  const page = join(repoRoot(), 'test-artifacts', 'diff-containerd-crio.html');
  await critap('diff', first, crio, '--report', page);
  const html = await readFile(page, 'utf8');
  assert.match(html, /<b data-diff="differ">7<\/b> differ/);
});
