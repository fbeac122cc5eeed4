/**
 * `npm run test:critest`: critest v1.26 (the CRI validation suite, ../shared/bin/critest.test or
 * CRITAP_TEST_CRITEST) straight against a private runtime, and through `critap proxy --record`
 * against another private runtime of the same kind, in one run. Through critap it must pass
 * exactly the specs it passes directly. Prints both pass counts and the specs that differ, and
 * ends with `<same> passed, <different> failed` over the specs compared; exits 1 on a difference.
 *
 * critest must be the only client of its runtime, hence one runtime per critest run. Its images
 * are busybox-based (test/support/critest-images.ts), pushed to the runtime's local registry.
 *
 * Usage: npm run build && node dist/scripts/critest.js [--runtime containerd|crio]
 *          [--sequential] [--focus REGEX] [--keep]
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { findBinary } from '../test/support/binaries.js';
import { startCliProxy } from '../test/support/cli-proxy.js';
import { compareRuns, readSpecStates } from '../test/support/critest-report.js';
import { prepareCritestImages, type ImageStore } from '../test/support/critest-images.js';
import { tempSocketPath } from '../test/support/fake-upstream.js';
import { logTail, missingTools, startRealRuntime } from '../test/support/runtime.js';

const run = promisify(execFile);
const RUNTIMES = ['containerd', 'crio'] as const;
type RuntimeKind = (typeof RUNTIMES)[number];
/** A sanity floor: a broken setup (no images, a dead runtime) passes nothing directly, and "nothing = nothing" proves nothing. */
const MIN_DIRECT_PASSES = 40;
const CRITEST_TIMEOUT_MS = 20 * 60_000;

/** What critest needs of a runtime; each kind of runtime harness provides it. */
interface CritestRuntime {
  kind: RuntimeKind;
  endpoint: string;
  /** `127.0.0.1:port` of its local registry: critest's -registry-prefix. */
  registry: string;
  dir: string;
  store: ImageStore;
  stop(): Promise<void>;
}

async function startRuntime(kind: RuntimeKind): Promise<CritestRuntime> {
  if (kind === 'crio') {
    throw new Error('critap: --runtime crio needs the CRI-O harness (test/support/crio.ts), which is not on this branch yet');
  }
  const rt = await startRealRuntime();
  return {
    kind,
    endpoint: rt.endpoint,
    registry: rt.registry.address,
    dir: rt.dir,
    store: {
      async importArchive(archive) {
        await run('ctr', ['-a', rt.ctrAddress, '-n', 'k8s.io', 'images', 'import', archive.path], { timeout: 60_000 });
      },
    },
    stop: rt.stop,
  };
}

interface CritestRun {
  report: string;
  log: string;
  ms: number;
  exitCode: number | null;
}

async function runCritest(binary: string, endpoint: string, registry: string, dir: string, focus: string | undefined): Promise<CritestRun> {
  // From an empty folder: critest writes files into its working directory.
  const cwd = join(dir, 'critest-cwd');
  await mkdir(cwd, { recursive: true });
  const report = join(dir, 'critest-report.json');
  const log = join(dir, 'critest.log');
  const args = [
    `-runtime-endpoint=${endpoint}`, `-image-endpoint=${endpoint}`, `-registry-prefix=${registry}`,
    '-ginkgo.no-color', '-ginkgo.succinct', `-ginkgo.json-report=${report}`,
    ...(focus ? [`-ginkgo.focus=${focus}`] : []),
  ];
  const fd = openSync(log, 'a');
  const started = Date.now();
  const child = spawn(binary, args, { cwd, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const killer = setTimeout(() => child.kill('SIGKILL'), CRITEST_TIMEOUT_MS);
  const exitCode = await new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  clearTimeout(killer);
  return { report, log, ms: Date.now() - started, exitCode };
}

async function direct(kind: RuntimeKind, binary: string, focus?: string): Promise<CritestRun> {
  const rt = await startRuntime(kind);
  try {
    await prepareCritestImages(join(rt.dir, 'tmp'), rt.registry, rt.store);
    return await keepResults(await runCritest(binary, rt.endpoint, rt.registry, rt.dir, focus), 'direct');
  } finally {
    await rt.stop();
  }
}

async function throughCritap(kind: RuntimeKind, binary: string, focus?: string): Promise<CritestRun & { proxyExit: number | null }> {
  const rt = await startRuntime(kind);
  const listen = tempSocketPath('critap-critest');
  try {
    await prepareCritestImages(join(rt.dir, 'tmp'), rt.registry, rt.store);
    const proxy = await startCliProxy(['--listen', listen, '--upstream', rt.endpoint, '--record', join(rt.dir, 'critap-recording')]);
    let result!: CritestRun;
    let proxyExit: number | null = null;
    try {
      result = await runCritest(binary, proxy.endpoint, rt.registry, rt.dir, focus);
    } finally {
      proxyExit = await proxy.stop('SIGTERM');
    }
    return { ...(await keepResults(result, 'through-critap')), proxyExit };
  } finally {
    await rt.stop();
    await rm(dirname(listen), { recursive: true, force: true });
  }
}

/** A stopped runtime's folder is gone: each run's report and log are copied out first (kept on failure or with --keep). */
let resultsDir = '';
async function keepResults(r: CritestRun, name: 'direct' | 'through-critap'): Promise<CritestRun> {
  const to = join(resultsDir, name);
  await mkdir(to);
  const report = join(to, 'report.json');
  const log = join(to, 'critest.log');
  await run('cp', [r.log, log]);
  await run('cp', [r.report, report]).catch(() => undefined);
  return { ...r, report, log };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { runtime: { type: 'string', default: 'containerd' }, sequential: { type: 'boolean', default: false }, focus: { type: 'string' }, keep: { type: 'boolean', default: false } },
  });
  const kind = values.runtime as RuntimeKind;
  if (!RUNTIMES.includes(kind)) {
    process.stderr.write(`critap: --runtime wants ${RUNTIMES.join(' or ')}, got "${values.runtime}"\n`);
    return 2;
  }
  const unavailable = [
    ...('missing' in findBinary('critest') ? [(findBinary('critest') as { missing: string }).missing] : []),
    ...(process.getuid?.() !== 0 ? ['not running as root'] : []),
    ...missingTools().map((t) => `missing ${t} (scripts/setup-runtime.sh)`),
  ];
  if (unavailable.length) {
    const bar = '!'.repeat(78);
    process.stderr.write(`\n${bar}\n!! critest cannot run here: ${unavailable.join('; ')}\n${bar}\n`);
    // Under CI a skip is a failure: CI must never pass by not running.
    return process.env.CI === 'true' ? 1 : 0;
  }
  const binary = (findBinary('critest') as { path: string }).path;
  resultsDir = await mkdtemp('/tmp/critap-critest-');
  const started = Date.now();
  process.stdout.write(`critest (${binary}) against ${kind}: direct and through critap proxy --record, ${values.sequential ? 'one after the other' : 'side by side on two runtimes'}\n`);
  const [d, p] = values.sequential
    ? [await direct(kind, binary, values.focus), await throughCritap(kind, binary, values.focus)]
    : await Promise.all([direct(kind, binary, values.focus), throughCritap(kind, binary, values.focus)]);
  let failed = false;
  let dStates, pStates;
  try {
    dStates = readSpecStates(d.report);
    pStates = readSpecStates(p.report);
  } catch (err) {
    process.stdout.write(`critap: no critest report: ${(err as Error).message}\nDirect log:\n${logTail(d.log, 30)}\nThrough critap log:\n${logTail(p.log, 30)}\n0 passed, 1 failed\n`);
    return 1;
  }
  const c = compareRuns(dStates, pStates);
  process.stdout.write(`direct:         ${c.passedDirect.length} of ${dStates.size} specs passed (${(d.ms / 1000).toFixed(0)} s, critest exit ${d.exitCode})\n`);
  process.stdout.write(`through critap: ${c.passedThrough.length} of ${pStates.size} specs passed (${(p.ms / 1000).toFixed(0)} s, critest exit ${p.exitCode}, critap exit ${p.proxyExit})\n`);
  for (const s of c.lostThrough) process.stdout.write(`  passed directly, not through critap: ${s}\n`);
  for (const s of c.gainedThrough) process.stdout.write(`  passed through critap, not directly: ${s}\n`);
  if (p.proxyExit !== 0) {
    process.stdout.write(`critap proxy exited ${p.proxyExit} (want 0)\n`);
    failed = true;
  }
  if (!values.focus && c.passedDirect.length < MIN_DIRECT_PASSES) {
    process.stdout.write(`only ${c.passedDirect.length} specs passed directly (want at least ${MIN_DIRECT_PASSES}): the setup is broken. Direct log: ${d.log}\n${logTail(d.log, 20)}\n`);
    failed = true;
  }
  const differing = c.lostThrough.length + c.gainedThrough.length;
  if (failed || differing > 0 || values.keep) process.stdout.write(`reports and logs kept in ${resultsDir}\n`);
  else await rm(resultsDir, { recursive: true, force: true });
  process.stdout.write(`whole run ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  process.stdout.write(`${c.specs.length - differing} passed, ${differing} failed\n`);
  return failed || differing > 0 ? 1 : 0;
}

process.exitCode = await main();
