/**
 * `critap report` opened in a real headless Chromium: the page renders with no console error
 * and no request but its own file, its tables hold what `critap stats --json` says, and a click
 * on a call of the sequence diagram shows that call's decoded request. Screenshots go to
 * test-artifacts/ for people to look at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { fmtBytes } from '../../src/report/html/escape.js';
import { chromiumOrSkip } from '../support/chromium.js';
import { writeKubeletLikeRecording } from '../support/kubelet-like-recording.js';
import { repoRoot } from '../support/paths.js';

const BIN = join(repoRoot(), 'bin', 'critap.js');
const ARTIFACTS = join(repoRoot(), 'test-artifacts');
const SEED = join(repoRoot(), 'recordings', 'seed-walkthrough');

async function critap(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

interface MethodFigures { method: string; calls: number; errors: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number; bytesIn: number; bytesOut: number }

/** Opens the page, failing the test on any console error, page error or request beyond the file itself. */
async function openPage(browser: BrowserContext, file: string): Promise<{ page: Page; problems: string[] }> {
  // Closed with the browser (chromiumOrSkip).
  const page = await browser.newPage();
  const url = pathToFileURL(file).href;
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (r.url() !== url) problems.push(`request: ${r.url()}`);
  });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems };
}

/** The method table as the browser shows it, and the stats it must match. */
async function checkMethodTable(page: Page, stats: MethodFigures[]): Promise<void> {
  const rows = await page.$$eval('#methods tr[data-method]', (trs) =>
    trs.map((tr) => {
      const cell = (c: string) => tr.querySelector(`[data-col="${c}"]`)!.textContent!;
      return { method: tr.getAttribute('data-method')!, calls: cell('calls'), errors: cell('errors'), p50: cell('p50'), p90: cell('p90'), p99: cell('p99'), max: cell('max'), in: cell('in'), out: cell('out') };
    }),
  );
  assert.deepEqual(
    rows,
    stats.map((m) => ({ method: m.method, calls: String(m.calls), errors: String(m.errors), p50: String(m.p50Ms), p90: String(m.p90Ms), p99: String(m.p99Ms), max: String(m.maxMs), in: fmtBytes(m.bytesIn), out: fmtBytes(m.bytesOut) })),
  );
  const calls = await page.textContent('[data-summary="calls"]');
  assert.equal(calls, String(stats.reduce((n, m) => n + m.calls, 0)));
  const errors = await page.textContent('[data-summary="errors"]');
  assert.equal(errors, String(stats.reduce((n, m) => n + m.errors, 0)));
}

test('report of the seed walkthrough (real containerd) in Chromium: figures, a click opens the decoded call, no request', async (t) => {
  const browser = await chromiumOrSkip(t);
  if (!browser) return;
  const root = await mkdtemp(join(tmpdir(), 'critap-report-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const out = join(root, 'seed.html');
  await critap('report', SEED, '--out', out);
  const stats = JSON.parse(await critap('stats', SEED, '--json')) as { methods: MethodFigures[] };

  const { page, problems } = await openPage(browser, out);
  await checkMethodTable(page, stats.methods);
  assert.equal(await page.locator('#timeline .lane').count(), 1);
  assert.match((await page.textContent('#timeline .lane'))!, /critap-e2e\/critap-walk.*ready in/s);

  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'report-seed-walkthrough.png'), fullPage: true });

  const step = page.locator('.seq:not([hidden]) .step').filter({ hasText: 'RunPodSandbox' }).first();
  await step.click();
  const panel = page.locator('#details');
  await panel.waitFor({ state: 'visible' });
  assert.equal(await panel.locator('h3').textContent(), 'RunPodSandbox');
  const request = JSON.parse((await panel.locator('h4:text-is("request") + pre').textContent())!) as { config: { metadata: { name: string; namespace: string } } };
  assert.deepEqual(request.config.metadata, { name: 'critap-walk', uid: 'critap-walk-uid', namespace: 'critap-e2e' });
  const response = JSON.parse((await panel.locator('h4:text-is("response") + pre').textContent())!) as { podSandboxId: string };
  assert.match(response.podSandboxId, /^[0-9a-f]{64}$/);

  // The container's env value was redacted when recorded: the page shows it redacted too.
  await page.locator('.seq:not([hidden]) .step').filter({ hasText: 'CreateContainer' }).first().click();
  const created = (await panel.locator('h4:text-is("request") + pre').textContent())!;
  assert.match(created, /"envs"/);
  assert.match((await panel.textContent())!, /redacted by the recorder/);

  // Bytes holding text read as text, as in show.
  await page.locator('.seq:not([hidden]) .step').filter({ hasText: 'ExecSync' }).first().click();
  const exec = JSON.parse((await panel.locator('h4:text-is("response") + pre').textContent())!) as { stdout: string; exitCode: number };
  assert.deepEqual(exec, { stdout: 'hi\n', stderr: '*****\n', exitCode: 0 });

  await page.screenshot({ path: join(ARTIFACTS, 'report-seed-walkthrough-call.png') });
  assert.deepEqual(problems, []);
});

test('report of a 100 000-call kubelet-like recording in Chromium: aggregate figures match stats, PLEG buckets, limits said', async (t) => {
  const browser = await chromiumOrSkip(t);
  if (!browser) return;
  const root = await mkdtemp(join(tmpdir(), 'critap-report-big-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const rec = join(root, 'node-a');
  const written = await writeKubeletLikeRecording(rec, { seconds: 33_000, pods: 300, deadlineEvery: 40 });
  assert.ok(written >= 100_000, `${written} calls`);
  const out = join(root, 'big.html');
  await critap('report', rec, '--out', out);
  const stats = JSON.parse(await critap('stats', rec, '--json')) as { methods: MethodFigures[] };

  const { page, problems } = await openPage(browser, out);
  await checkMethodTable(page, stats.methods);
  // 300 pods, the first 150 drawn, the rest said.
  assert.equal(await page.locator('#timeline .lane').count(), 150);
  assert.match((await page.textContent('#timeline'))!, /150 more pods are not drawn/);
  assert.equal(await page.textContent('[data-pleg="relists"]'), '33000');
  assert.equal(await page.textContent('[data-pleg="slow"]'), String(Math.floor(33_000 / 97)));
  assert.match((await page.textContent('#pleg'))!, /drawn as \d+ time buckets/);
  // DeadlineExceeded first in the failed list, each linked to its pod.
  const first = page.locator('#failed tbody tr').first();
  assert.match((await first.textContent())!, /DEADLINE_EXCEEDED.*web-\d+/s);
  await first.click();
  assert.match((await page.locator('#details h3').textContent())!, /ContainerStatus/);
  await page.keyboard.press('Escape');

  // Each pod on its own scale: a lane's RunPodSandbox then starts at the lane's left edge.
  const runX = () => page.locator('#pod-3 rect.m-RunPodSandbox').getAttribute('x');
  const shared = Number(await runX());
  await page.check('#lane-scale');
  assert.equal(Number(await runX()), 230, 'per pod: the pod\'s first call at the lane start');
  assert.ok(shared > 230, 'shared: a later pod starts further right');
  await page.locator('#timeline').scrollIntoViewIfNeeded();

  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'report-100k-calls.png') });
  assert.deepEqual(problems, []);
});

test('report of the shipped real-kubelet recording in Chromium: figures match stats, the pod lane, the PLEG relists', async (t) => {
  const browser = await chromiumOrSkip(t);
  if (!browser) return;
  const recording = join(repoRoot(), 'recordings', 'kubelet-static-pod');
  const root = await mkdtemp(join(tmpdir(), 'critap-report-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const out = join(root, 'kubelet.html');
  await critap('report', recording, '--out', out);
  const stats = JSON.parse(await critap('stats', recording, '--json')) as { methods: MethodFigures[] };
  const { page, problems } = await openPage(browser, out);
  await checkMethodTable(page, stats.methods);
  assert.equal(await page.locator('#timeline .lane').count(), 1, 'one pod');
  assert.match((await page.textContent('#timeline .lane'))!, /default\/critap-web-critap-node.*ready in/s);
  assert.match((await page.textContent('body'))!, /PLEG/);
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'report-kubelet-static-pod.png'), fullPage: true });
  assert.deepEqual(problems, []);
});
