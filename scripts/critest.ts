/**
 * `npm run test:critest`: critest v1.26 (the CRI validation suite, ../shared/bin/critest.test or
 * CRITAP_TEST_CRITEST) straight against a private runtime, and through `critap proxy --record`
 * against another private runtime of the same kind, in one run. Through critap it must pass
 * exactly the specs it passes directly. Prints both pass counts and the specs that differ, and
 * ends with `<same> passed, <different> failed` over the specs compared; exits 1 on a difference.
 *
 * critest must be the only client of its runtime, hence one runtime per side. Its images are
 * busybox-based (test/support/critest-images.ts), pushed to that runtime's local registry.
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
import { startCliProxy, type CliProxy } from '../test/support/cli-proxy.js';
import { prepareCritestImages, type ImageStore } from '../test/support/critest-images.js';
import { compareRuns, readSpecStates, type SpecState } from '../test/support/critest-report.js';
import { tempSocketPath } from '../test/support/fake-upstream.js';
import { missingTools, startRealRuntime } from '../test/support/runtime.js';
import { startCrioRuntime } from '../test/support/crio.js';

const run = promisify(execFile);
const RUNTIMES = ['containerd', 'crio'] as const;
type RuntimeKind = (typeof RUNTIMES)[number];
/** A sanity floor: a broken setup (no images, a dead runtime) passes nothing directly, and "nothing = nothing" proves nothing. */
const MIN_DIRECT_PASSES = 40;
const CRITEST_TIMEOUT_MS = 20 * 60_000;

/**
 * Specs that use fixed host ports (critest's 12000-12003: port mapping, the two port-forwards,
 * the host-network web server). Two critests side by side fight over those ports (seen: each
 * side failed one port-forward spec the other passed), so side by side those specs run in a
 * part of their own, one side's after the other's.
 */
export const HOST_PORT_SPECS = 'portforward|port mapping with host port|HostNetwork is true';

/** What critest needs of a runtime; each kind of runtime harness provides it. */
interface CritestRuntime {
  endpoint: string;
  /** `127.0.0.1:port` of its local registry: critest's -registry-prefix. */
  registry: string;
  dir: string;
  store: ImageStore;
  stop(): Promise<void>;
}

async function startRuntime(kind: RuntimeKind): Promise<CritestRuntime> {
  if (kind === 'crio') {
    const found = { crio: findBinary('crio'), pinns: findBinary('pinns') };
    const missing = Object.values(found).flatMap((f) => ('missing' in f ? [f.missing] : []));
    if (missing.length) throw new Error(`critap: --runtime crio: ${missing.join('; ')}`);
    const rt = await startCrioRuntime({ crio: (found.crio as { path: string }).path, pinns: (found.pinns as { path: string }).path });
    return {
      endpoint: rt.endpoint,
      registry: rt.registry.address,
      dir: rt.dir,
      store: {
        // critest creates some containers from the images' original names: put them in CRI-O's own store.
        async importArchive(archive) {
          await run('skopeo', ['copy', '--quiet', `docker-archive:${archive.path}`, `containers-storage:${archive.tag}`], { timeout: 120_000, env: rt.env });
        },
      },
      stop: rt.stop,
    };
  }
  const rt = await startRealRuntime();
  return {
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

/** Each run's report and log, copied out of the runtime's folder (which goes when it stops); kept on failure or with --keep. */
let resultsDir = '';

async function runCritest(binary: string, endpoint: string, rt: CritestRuntime, name: string, select: string[]): Promise<CritestRun> {
  // From an empty folder: critest writes files into its working directory.
  const cwd = join(rt.dir, `critest-cwd-${name}`);
  await mkdir(cwd, { recursive: true });
  const report = join(rt.dir, `critest-${name}.json`);
  const log = join(rt.dir, `critest-${name}.log`);
  const args = [
    `-runtime-endpoint=${endpoint}`, `-image-endpoint=${endpoint}`, `-registry-prefix=${rt.registry}`,
    '-ginkgo.no-color', '-ginkgo.succinct', `-ginkgo.json-report=${report}`, ...select,
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
  const kept = { report: join(resultsDir, `${name}.json`), log: join(resultsDir, `${name}.log`) };
  await run('cp', [log, kept.log]);
  await run('cp', [report, kept.report]).catch(() => undefined);
  return { ...kept, ms: Date.now() - started, exitCode };
}

/** One side of the comparison: a runtime with critest's images, reached directly or through `critap proxy --record`. */
interface Side {
  runs: CritestRun[];
  run(part: string, select: string[]): Promise<CritestRun>;
  /** Stops the proxy (giving its exit code; undefined on the direct side) and the runtime. Idempotent. */
  close(): Promise<number | null | undefined>;
}

async function openSide(kind: RuntimeKind, binary: string, viaCritap: boolean): Promise<Side> {
  const rt = await startRuntime(kind);
  const listen = tempSocketPath('critap-critest');
  let proxy: CliProxy | undefined;
  try {
    await prepareCritestImages(join(rt.dir, 'tmp'), rt.registry, rt.store);
    if (viaCritap) proxy = await startCliProxy(['--listen', listen, '--upstream', rt.endpoint, '--record', join(rt.dir, 'critap-recording')]);
  } catch (err) {
    await rt.stop();
    await rm(dirname(listen), { recursive: true, force: true });
    throw err;
  }
  const name = viaCritap ? 'through-critap' : 'direct';
  let closed: Promise<number | null | undefined> | undefined;
  const side: Side = {
    runs: [],
    async run(part, select) {
      const r = await runCritest(binary, proxy?.endpoint ?? rt.endpoint, rt, `${name}-${part}`, select);
      side.runs.push(r);
      return r;
    },
    close: () =>
      (closed ??= (async () => {
        try {
          return proxy ? await proxy.stop('SIGTERM') : undefined;
        } finally {
          await rt.stop();
          await rm(dirname(listen), { recursive: true, force: true });
        }
      })()),
  };
  return side;
}

/** Every spec's state over a side's runs; a later run's verdict on a spec replaces an earlier "skipped". */
function sideStates(side: Side): Map<string, SpecState> {
  const states = new Map<string, SpecState>();
  for (const r of side.runs) {
    for (const [spec, state] of readSpecStates(r.report)) if (state !== 'skipped' || !states.has(spec)) states.set(spec, state);
  }
  return states;
}

/** Why critest cannot run here, or nothing. */
function unavailable(kind: RuntimeKind): string[] {
  const needed = [findBinary('critest'), ...(kind === 'crio' ? [findBinary('crio'), findBinary('pinns')] : [])];
  return [
    ...needed.flatMap((b) => ('missing' in b ? [b.missing] : [])),
    ...(process.getuid?.() !== 0 ? ['not running as root'] : []),
    ...missingTools().map((t) => `missing ${t} (scripts/setup-runtime.sh)`),
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runtime: { type: 'string', default: 'containerd' },
      sequential: { type: 'boolean', default: false },
      focus: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const kind = values.runtime as RuntimeKind;
  if (!RUNTIMES.includes(kind)) {
    process.stderr.write(`critap: --runtime wants ${RUNTIMES.join(' or ')}, got "${values.runtime}"\n`);
    return 2;
  }
  const why = unavailable(kind);
  if (why.length) {
    const bar = '!'.repeat(78);
    process.stderr.write(`\n${bar}\n!! critest cannot run here: ${why.join('; ')}\n${bar}\n`);
    // Under CI a skip is a failure: CI must never pass by not running.
    return process.env.CI === 'true' ? 1 : 0;
  }
  const binary = (findBinary('critest') as { path: string }).path;
  resultsDir = await mkdtemp('/tmp/critap-critest-');
  const started = Date.now();
  const focus = values.focus ? [`-ginkgo.focus=${values.focus}`] : [];
  process.stdout.write(`critest (${binary}) against ${kind}: direct and through critap proxy --record, ${values.sequential ? 'one after the other' : 'side by side on two runtimes'}\n`);

  const sides: Side[] = [];
  let proxyExit: number | null | undefined;
  try {
    if (values.sequential) {
      for (const viaCritap of [false, true]) {
        const side = await openSide(kind, binary, viaCritap);
        sides.push(side);
        await side.run('all', focus);
        const code = await side.close();
        if (viaCritap) proxyExit = code;
      }
    } else {
      sides.push(...(await Promise.all([openSide(kind, binary, false), openSide(kind, binary, true)])));
      // ginkgo cannot AND two focus patterns: with --focus, the host-port part runs the specs matching both.
      const hostPorts = values.focus ? `(?:${values.focus}).*(?:${HOST_PORT_SPECS})|(?:${HOST_PORT_SPECS}).*(?:${values.focus})` : HOST_PORT_SPECS;
      const shared = [...focus, `-ginkgo.skip=${HOST_PORT_SPECS}`];
      // The host-port parts take turns (one side's runs while the other side runs its shared part):
      // direct does its host-port part first, critap's side last.
      let portsFree: Promise<unknown> = Promise.resolve();
      const withPorts = (side: Side) => {
        const turn = portsFree.then(() => side.run('host-ports', [`-ginkgo.focus=${hostPorts}`]));
        portsFree = turn.catch(() => undefined);
        return turn;
      };
      const [direct, through] = sides as [Side, Side];
      await Promise.all([
        withPorts(direct).then(() => direct.run('shared-ports', shared)),
        through.run('shared-ports', shared).then(() => withPorts(through)),
      ]);
      proxyExit = (await Promise.all(sides.map((s) => s.close())))[1];
    }
  } finally {
    await Promise.allSettled(sides.map((s) => s.close()));
  }

  const [d, p] = sides as [Side, Side];
  let dStates: Map<string, SpecState>;
  let pStates: Map<string, SpecState>;
  try {
    dStates = sideStates(d);
    pStates = sideStates(p);
  } catch (err) {
    process.stdout.write(`critap: no critest report: ${(err as Error).message}; logs in ${resultsDir}\n0 passed, 1 failed\n`);
    return 1;
  }
  const c = compareRuns(dStates, pStates);
  const took = (s: Side) => s.runs.map((r) => `${(r.ms / 1000).toFixed(0)} s, exit ${r.exitCode}`).join(' + ');
  let failed = false;
  process.stdout.write(`direct:         ${c.passedDirect.length} of ${dStates.size} specs passed (critest ${took(d)})\n`);
  process.stdout.write(`through critap: ${c.passedThrough.length} of ${pStates.size} specs passed (critest ${took(p)}; critap exit ${proxyExit})\n`);
  for (const s of c.lostThrough) process.stdout.write(`  passed directly, not through critap: ${s}\n`);
  for (const s of c.gainedThrough) process.stdout.write(`  passed through critap, not directly: ${s}\n`);
  if (proxyExit !== 0) {
    process.stdout.write(`critap proxy exited ${proxyExit} (want 0)\n`);
    failed = true;
  }
  if (!values.focus && c.passedDirect.length < MIN_DIRECT_PASSES) {
    process.stdout.write(`only ${c.passedDirect.length} specs passed directly (want at least ${MIN_DIRECT_PASSES}): the setup is broken\n`);
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
