import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startProxy } from '../../src/proxy/proxy.js';
import { parsePeerCred } from '../../src/proxy/peer.js';
import type { CallRecord } from '../../src/call.js';
import { startFakeUpstream, tempSocketPath } from '../support/fake-upstream.js';

const FAKE_UPSTREAM = fileURLToPath(new URL('../support/fake-upstream.js', import.meta.url));

test('parsePeerCred reads the helper\'s pid and exe per inherited fd', () => {
  const t = parsePeerCred('3 77 /usr/local/bin/crictl\n4 -\n5 78 \n6 0 \n');
  assert.deepEqual(t.get(3), { pid: 77, exe: '/usr/local/bin/crictl' });
  assert.equal(t.has(4), false, 'no peer credentials');
  assert.deepEqual(t.get(5), { pid: 78 }, 'pid without exe (the client exited before perl looked)');
  assert.equal(t.has(6), false, 'pid 0 is no process');
});

test('calls carry the client process id and executable (kubelet vs crictl)', async (t) => {
  const up = await startFakeUpstream({ unary: { '/runtime.v1.RuntimeService/Version': (_c, cb) => cb(null, Buffer.alloc(0)) } });
  const calls: CallRecord[] = [];
  const proxy = await startProxy({ listen: tempSocketPath('proxy'), upstream: up.endpoint, sinks: [{ needsBodies: false, onCallEnd: (c) => calls.push(c) }] });
  t.after(async () => {
    await proxy.close(100);
    await up.close();
  });
  // A separate client process, which stays connected for a moment after its call.
  const script = `
    const { rawClient, unaryCall } = await import(${JSON.stringify(FAKE_UPSTREAM)});
    const c = rawClient(${JSON.stringify(proxy.endpoint)});
    await unaryCall(c, '/runtime.v1.RuntimeService/Version', Buffer.alloc(0));
    await new Promise((r) => setTimeout(r, 1500));
    await unaryCall(c, '/runtime.v1.RuntimeService/Version', Buffer.alloc(0));
    c.close();
    console.log(process.pid);`;
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout) => (err ? reject(err) : resolve({ stdout }))),
  );
  const childPid = Number(stdout.trim());
  assert.equal(calls.length, 2);
  for (const c of calls) {
    assert.equal(c.peer?.pid, childPid);
    assert.equal(c.peer?.exe, realpathSync(process.execPath));
  }
});

test('a client that exits right after its answer is named in its calls (found at accept)', async (t) => {
  const up = await startFakeUpstream({ unary: { '/runtime.v1.RuntimeService/Version': (_c, cb) => cb(null, Buffer.alloc(0)) } });
  const calls: CallRecord[] = [];
  const proxy = await startProxy({ listen: tempSocketPath('proxy'), upstream: up.endpoint, sinks: [{ needsBodies: false, onCallEnd: (c) => calls.push(c) }] });
  t.after(async () => {
    await proxy.close(100);
    await up.close();
  });
  // Like crictl: connect, one call, exit at once (no close handshake, no lingering).
  const script = `
    const { rawClient, unaryCall } = await import(${JSON.stringify(FAKE_UPSTREAM)});
    const r = await unaryCall(rawClient(${JSON.stringify(proxy.endpoint)}), '/runtime.v1.RuntimeService/Version', Buffer.alloc(0));
    process.stdout.write(r.error ? 'error ' + r.error.message : String(process.pid), () => process.exit(0));`;
  const runOne = () =>
    new Promise<number>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout) => (err ? reject(err) : resolve(Number(stdout.trim())))),
    );
  // Several at once, as a burst of crictl commands would come: they share the lookups.
  const pids = await Promise.all(Array.from({ length: 6 }, runOne));
  assert.ok(pids.every((p) => p > 0), `every client got its answer: ${pids.join(', ')}`);
  await proxy.close(100); // the proxy hands over held calls before it closes its sinks
  assert.equal(calls.length, pids.length);
  assert.deepEqual(calls.map((c) => c.peer?.pid).sort(), [...pids].sort(), 'each call names its own client process');
  for (const c of calls) assert.equal(c.peer?.exe, realpathSync(process.execPath));
});
