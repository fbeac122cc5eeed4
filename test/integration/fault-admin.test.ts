/**
 * `--admin` and `critap fault`: rules of a running `critap proxy` (the real CLI in a child, the
 * fake runtime behind it) added, listed with fire counts, removed and cleared while one client
 * connection stays open; bad input answered with a clear error; the socket is mode 0600.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { adminRequest } from '../../src/fault/admin.js';
import { CRITAP_BIN, startCliProxy } from '../support/cli-proxy.js';
import { rawClient, startFakeUpstream, tempSocketPath, unaryCall } from '../support/fake-upstream.js';

const run = promisify(execFile);
const V = '/runtime.v1.RuntimeService/Version';

async function fault(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CRITAP_BIN, 'fault', ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('critap fault add/list/remove/clear change a running proxy without breaking its client connection', async (t) => {
  const up = await startFakeUpstream({ unary: { [V]: (_call, cb) => cb(null, Buffer.from('runtime')) } });
  t.after(() => up.close());
  const listen = tempSocketPath('proxy');
  const admin = join(dirname(listen), 'admin.sock');
  const proxy = await startCliProxy(['--listen', listen, '--upstream', up.endpoint, '--admin', admin, '--fault', 'method=Version,error=ABORTED,message=from the flag,count=1']);
  t.after(() => proxy.stop());
  assert.equal((await stat(admin)).mode & 0o777, 0o600);
  const client = rawClient(`unix://${listen}`);
  t.after(() => client.close());

  assert.equal((await unaryCall(client, V, Buffer.alloc(0))).error?.details, 'from the flag');
  assert.equal((await unaryCall(client, V, Buffer.alloc(0))).response?.toString(), 'runtime');

  const added = await fault('add', 'method=Version,error=UNAVAILABLE,message=from the admin socket', '--admin', admin);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /added rule 2/);
  const failed = await unaryCall(client, V, Buffer.alloc(0));
  assert.equal(failed.error?.code, grpc.status.UNAVAILABLE);
  assert.equal(failed.error?.details, 'from the admin socket');

  const listed = await fault('list', '--admin', admin, '--json');
  assert.deepEqual(JSON.parse(listed.stdout), [
    { id: 1, rule: 'method=Version,error=ABORTED,message=from the flag,count=1', matched: 1, fired: 1, spent: true },
    { id: 2, rule: 'method=Version,error=UNAVAILABLE,message=from the admin socket', matched: 1, fired: 1, spent: false },
  ]);
  assert.match((await fault('list', '--admin', admin)).stdout, /^2\tmethod=Version,error=UNAVAILABLE,message=from the admin socket\tmatched 1, fired 1$/m);

  const typo = await fault('add', 'method=Verison,error=UNAVAILABLE', '--admin', admin);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /did you mean "Version"/);
  // The same mistake sent straight to the socket (a client other than the CLI) is refused there too.
  const raw = await adminRequest(admin, { op: 'add', rule: 'method=Version,eror=INTERNAL' });
  assert.equal(raw.ok, false);
  assert.match(String(raw.error), /unknown key "eror".*did you mean "error"/);
  assert.match(String((await adminRequest(admin, { op: 'remove', id: 99 })).error), /no rule 99/);
  assert.match(String((await adminRequest(admin, { op: 'explode' } as never)).error), /unknown op/);

  assert.equal((await fault('remove', '2', '--admin', admin)).code, 0);
  assert.equal((await unaryCall(client, V, Buffer.alloc(0))).response?.toString(), 'runtime');
  await fault('add', 'method=Version,hang', '--admin', admin);
  const cleared = await fault('clear', '--admin', admin);
  assert.match(cleared.stdout, /removed 2 rule\(s\)/);
  assert.equal((await unaryCall(client, V, Buffer.alloc(0))).response?.toString(), 'runtime', 'same connection, never broken');
  assert.equal((await fault('list', '--admin', admin)).stdout, 'no fault rules\n');

  const noAdmin = await fault('list', '--admin', join(dirname(listen), 'nobody.sock'));
  assert.equal(noAdmin.code, 1);
  assert.match(noAdmin.stderr, /cannot reach the admin socket/);
  assert.equal(await proxy.stop(), 0);
});

test('a bad --fault is a usage error naming the key, before the proxy starts', async () => {
  const r = await run(process.execPath, [CRITAP_BIN, 'proxy', '--listen', tempSocketPath('p'), '--upstream', '/nonexistent.sock', '--fault', 'method=RunPodSandox,error=UNAVAILABLE']).catch((e: unknown) => e as { code: number; stderr: string });
  assert.equal((r as { code: number }).code, 2);
  assert.match((r as { stderr: string }).stderr, /did you mean "RunPodSandbox"/);
});

test('critap replay --admin and a fault: list in the proxy\'s YAML config', async (t) => {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { startCliReplay } = await import('../support/cli-proxy.js');
  const { SEED } = await import('./replay-helpers.js');
  const dir = await mkdtemp(join(tmpdir(), 'critap-fault-admin-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const admin = join(dir, 'replay-admin.sock');
  const listen = join(dir, 'replay.sock');
  const r = await startCliReplay(SEED, ['--listen', listen, '--admin', admin, '--fault', 'method=Status,error=NOT_FOUND']);
  t.after(() => r.stop());
  assert.equal((await stat(admin)).mode & 0o777, 0o600);
  const client = rawClient(`unix://${listen}`);
  t.after(() => client.close());
  assert.equal((await unaryCall(client, '/runtime.v1.RuntimeService/Status', Buffer.alloc(0))).error?.code, grpc.status.NOT_FOUND);
  assert.equal((await fault('add', 'method=Version,error=ABORTED', '--admin', admin)).code, 0);
  assert.equal((await unaryCall(client, V, Buffer.from([0x0a, 0x02, 0x76, 0x31]))).error?.code, grpc.status.ABORTED);
  assert.equal((await fault('clear', '--admin', admin)).code, 0);
  assert.ok((await unaryCall(client, V, Buffer.from([0x0a, 0x02, 0x76, 0x31]))).response);
  assert.equal(await r.stop(), 0);

  // The proxy's YAML config: fault is a list of whole rules (their commas are not list separators).
  const up = await startFakeUpstream({ unary: { [V]: (_c, cb) => cb(null, Buffer.from('runtime')) } });
  t.after(() => up.close());
  const config = join(dir, 'critap.yaml');
  await writeFile(config, `listen: ${join(dir, 'p.sock')}\nupstream: ${up.endpoint}\nfault:\n  - method=Version,error=RESOURCE_EXHAUSTED,message=from yaml,count=1\n`);
  const p = await startCliProxy(['--config', config, '--no-peer-lookup']);
  t.after(() => p.stop());
  const pc = rawClient(`unix://${join(dir, 'p.sock')}`);
  t.after(() => pc.close());
  const first = await unaryCall(pc, V, Buffer.alloc(0));
  assert.equal(first.error?.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(first.error?.details, 'from yaml');
  assert.equal((await unaryCall(pc, V, Buffer.alloc(0))).response?.toString(), 'runtime');
});
