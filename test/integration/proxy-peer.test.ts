import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startProxy } from '../../src/proxy/proxy.js';
import { parseSsUnix } from '../../src/proxy/peer.js';
import type { CallRecord } from '../../src/call.js';
import { startFakeUpstream, tempSocketPath } from '../support/fake-upstream.js';

const FAKE_UPSTREAM = fileURLToPath(new URL('../support/fake-upstream.js', import.meta.url));

test('parseSsUnix pairs each socket inode with its peer and owner', () => {
  const text = [
    'u_str ESTAB 0 0 /run/critap/critap.sock 4242 * 4241 users:(("node",pid=10,fd=21))',
    'u_str ESTAB 0 0 * 4241 * 4242 users:(("crictl",pid=77,fd=3))',
    'u_str ESTAB 0 0 * 999 * 998',
  ].join('\n');
  const t = parseSsUnix(text);
  assert.deepEqual(t.get(4242), { peer: 4241, pid: 10 });
  assert.deepEqual(t.get(4241), { peer: 4242, pid: 77 });
  assert.deepEqual(t.get(999), { peer: 998 });
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
