/**
 * The library's proxy() and replay() listen, by default, on a socket in a temp folder of their
 * own. A test suite calls them hundreds of times: each folder must go when the server closes or
 * fails to start, and a folder the user named with `listen` must stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { proxy, replay } from '../../src/index.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { SEED } from './replay-helpers.js';

const V = '/runtime.v1.RuntimeService/Version';

function socketFolder(endpoint: string): string {
  assert.match(endpoint, /^unix:\/\//);
  return dirname(endpoint.slice('unix://'.length));
}

/**
 * What `start` leaves in the temp dir when it fails. os.tmpdir() reads TMPDIR on every call, so
 * pointing it at an empty folder of the test's own isolates this from anything else using /tmp.
 */
async function leftInTmpdirAfterFailing(start: () => Promise<unknown>, error: RegExp): Promise<string[]> {
  const privateTmp = mkdtempSync(join(tmpdir(), 'critap-api-tmp-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = privateTmp;
  try {
    await assert.rejects(start(), error);
    return readdirSync(privateTmp);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(privateTmp, { recursive: true, force: true });
  }
}

test('proxy() with no listen: close removes the temp folder it made', async (t) => {
  const up = await startFakeUpstream({ unary: { [V]: (_c, cb) => cb(null, Buffer.alloc(0)) } });
  t.after(() => up.close());
  const p = await proxy({ upstream: up.endpoint, peerLookup: false });
  const folder = socketFolder(p.endpoint);
  assert.ok(existsSync(folder), 'the socket folder exists while the proxy runs');
  await p.close();
  assert.ok(!existsSync(folder), `${folder} removed on close`);
  await p.close(); // still idempotent
});

test('proxy() with a listen of the user\'s: the folder stays after close', async (t) => {
  const up = await startFakeUpstream({ unary: { [V]: (_c, cb) => cb(null, Buffer.alloc(0)) } });
  t.after(() => up.close());
  const userFolder = mkdtempSync(join(tmpdir(), 'critap-api-user-'));
  t.after(() => rmSync(userFolder, { recursive: true, force: true }));
  const p = await proxy({ upstream: up.endpoint, listen: `unix://${join(userFolder, 'p.sock')}`, peerLookup: false });
  await p.close();
  assert.ok(existsSync(userFolder), 'a folder critap did not make is not removed');
});

test('proxy() that fails to start leaves no temp folder', async () => {
  const left = await leftInTmpdirAfterFailing(() => proxy({ upstream: 'http://nowhere' }), /critap: unsupported endpoint/);
  assert.deepEqual(left, []);
});

test('replay() with no listen: close removes the temp folder it made', async () => {
  const runtime = await replay({ recording: SEED });
  const folder = socketFolder(runtime.endpoint);
  assert.ok(existsSync(folder), 'the socket folder exists while replay runs');
  await runtime.close();
  assert.ok(!existsSync(folder), `${folder} removed on close`);
});

test('replay() whose recording cannot be loaded leaves no temp folder', async () => {
  const left = await leftInTmpdirAfterFailing(() => replay({ recording: '/nonexistent/rec' }), /critap: recording \/nonexistent\/rec does not exist/);
  assert.deepEqual(left, []);
});
