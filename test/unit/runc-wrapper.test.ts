/**
 * The runc wrapper CRI-O runs in the tests: which file each runc invocation reads a process from,
 * how a spec is fitted to the wrapper's limits (oom_score_adj floor, bounding set), and the shell
 * wrapper itself in front of Debian's runc (the config is rewritten before runc reads it, and runc's
 * own exit code and message come back).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { fitProcess, ownLimits, rewriteForRunc, specFileOf, type Limits } from '../support/oci-spec-rewrite.js';
import { repoRoot } from '../support/paths.js';

// As on these machines: everything but CAP_SYS_RESOURCE (24) up to CAP_CHECKPOINT_RESTORE (40); own floor 0.
const HERE: Limits = { oomFloor: 0, bounding: new Set([...Array(41).keys()].filter((n) => n !== 24)) };

test('specFileOf finds the bundle of create/run and the --process file of exec, past runc global flags', () => {
  const cwd = '/cwd';
  assert.deepEqual(specFileOf(['--root', '/r', '--log', '/l', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/p', 'id'], cwd), { file: '/b/config.json', kind: 'bundle' });
  assert.deepEqual(specFileOf(['--systemd-cgroup', 'run', '-b', '/b2', 'id'], cwd), { file: '/b2/config.json', kind: 'bundle' });
  assert.deepEqual(specFileOf(['create', '--bundle=/b3', 'id'], cwd), { file: '/b3/config.json', kind: 'bundle' });
  assert.deepEqual(specFileOf(['create', 'id'], cwd), { file: '/cwd/config.json', kind: 'bundle' }, 'runc defaults the bundle to its cwd');
  assert.deepEqual(specFileOf(['--root', '/r', 'exec', '-d', '--pid-file', '/p', '--process', '/tmp/proc.json', 'id'], cwd), { file: '/tmp/proc.json', kind: 'process' });
  assert.equal(specFileOf(['exec', 'id', 'sh'], cwd), undefined, 'exec with the command on the line reads no process file');
  // A global flag's value that looks like a command is not taken for one.
  assert.equal(specFileOf(['--root', 'create', 'state', 'id'], cwd), undefined);
  assert.equal(specFileOf(['--root', '/r', 'delete', '--force', 'id'], cwd), undefined);
});

test('fitProcess raises oomScoreAdj to the floor and drops capabilities outside the bounding set', () => {
  const all = ['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_SYS_RESOURCE', 'CAP_NOT_A_CAP'];
  const proc = { oomScoreAdj: -998, capabilities: { bounding: [...all], effective: [...all], permitted: [...all], inheritable: [] }, args: ['x'] };
  assert.equal(fitProcess(proc, HERE, true), true);
  assert.equal(proc.oomScoreAdj, 0);
  for (const set of ['bounding', 'effective', 'permitted'] as const) assert.deepEqual(proc.capabilities[set], ['CAP_CHOWN', 'CAP_SYS_ADMIN']);
  assert.deepEqual(proc.capabilities.inheritable, []);
  assert.deepEqual(proc.args, ['x'], 'nothing else changes');

  const fine = { oomScoreAdj: 500, capabilities: { bounding: ['CAP_KILL'] } };
  assert.equal(fitProcess(fine, HERE, true), false, 'a spec within the limits is left alone');
  assert.equal(fine.oomScoreAdj, 500);
  const exec = { oomScoreAdj: -998 };
  assert.equal(fitProcess(exec, HERE, false), false, 'an exec process keeps its oomScoreAdj (runc ignores it there)');
});

test('rewriteForRunc edits config.json in place only when needed, and the exec process file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'critap-runc-wrapper-'));
  try {
    const spec = { ociVersion: '1.0.2', process: { oomScoreAdj: -998, capabilities: { bounding: ['CAP_KILL', 'CAP_SYS_RESOURCE'] } }, hostname: 'h' };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    assert.equal(rewriteForRunc(['create', '--bundle', dir, 'id'], '/', HERE), join(dir, 'config.json'));
    const after = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(after, { ...spec, process: { oomScoreAdj: 0, capabilities: { bounding: ['CAP_KILL'] } } });
    assert.equal(rewriteForRunc(['create', '--bundle', dir, 'id'], '/', HERE), undefined, 'second time: nothing to do');

    writeFileSync(join(dir, 'proc.json'), JSON.stringify({ args: ['sh'], capabilities: { effective: ['CAP_SYS_RESOURCE', 'CAP_BPF'] } }));
    assert.equal(rewriteForRunc(['exec', '--process', join(dir, 'proc.json'), 'id'], '/', HERE), join(dir, 'proc.json'));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'proc.json'), 'utf8')), { args: ['sh'], capabilities: { effective: ['CAP_BPF'] } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ownLimits reads this process: a floor and a bounding set holding at least CAP_KILL as root', { skip: process.getuid?.() !== 0 && 'not root' }, () => {
  const own = ownLimits();
  assert.ok(Number.isInteger(own.oomFloor));
  assert.ok(own.bounding.has(5));
});

const RUNC = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => existsSync(p));

test('runc-wrapper.sh fits a real `runc spec` config before runc create reads it, and passes runc\'s answer back', { skip: (!RUNC || process.getuid?.() !== 0) && 'needs runc and root' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'critap-runc-wrapper-'));
  try {
    const bundle = join(dir, 'bundle');
    mkdirSync(bundle);
    assert.equal((await run(RUNC!, ['spec', '--bundle', bundle], {})).code, 0, 'runc spec writes a default config.json');
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    const mine = ownLimits();
    config.process.oomScoreAdj = mine.oomFloor - 1;
    config.process.capabilities.bounding.push('CAP_NOT_A_CAP');
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));

    const env = {
      CRITAP_RUNC: RUNC!,
      CRITAP_NODE: process.execPath,
      CRITAP_SPEC_REWRITE: fileURLToPath(new URL('../support/oci-spec-rewrite.js', import.meta.url)),
      CRITAP_ID_LOG: join(dir, 'ids'),
    };
    const id = `critap-wrapper-test-${process.pid}`;
    // No rootfs in the bundle: runc reads the config, then refuses; nothing is started.
    const r = await run(join(repoRoot(), 'test', 'support', 'runc-wrapper.sh'), ['--root', join(dir, 'state'), 'create', '--bundle', bundle, id], env);
    assert.notEqual(r.code, 0, 'runc\'s failure comes back as the wrapper\'s exit code');
    assert.match(r.stderr, /rootfs/, `runc's own message: ${r.stderr}`);
    const after = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    assert.equal(after.process.oomScoreAdj, mine.oomFloor);
    assert.ok(!after.process.capabilities.bounding.includes('CAP_NOT_A_CAP'));
    assert.equal(readFileSync(join(dir, 'ids'), 'utf8'), `${id}\n`, 'the container id is logged for the cgroup cleanup');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
