/** The one-kubelet-at-a-time lock: a second holder waits for the first; a dead owner's lock is taken over. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { acquireKubeletLock } from '../support/kubelet-lock.js';

function tempLock(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'critap-kubelet-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'kubelet.lock');
}

test('a second holder waits until the first releases', async (t) => {
  const file = tempLock(t);
  const first = await acquireKubeletLock(5000, file);
  assert.equal(readFileSync(file, 'utf8'), String(process.pid));
  let secondHas = false;
  const second = acquireKubeletLock(5000, file).then((l) => ((secondHas = true), l));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(secondHas, false, 'still waiting while the first holds it');
  first.release();
  (await second).release();
  assert.equal(existsSync(file), false, 'released');
});

test('the lock of a process that is gone is taken over', async (t) => {
  const file = tempLock(t);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  writeFileSync(file, dead);
  const lock = await acquireKubeletLock(2000, file);
  assert.equal(readFileSync(file, 'utf8'), String(process.pid));
  lock.release();
});

test("a dead owner's lock is taken over only once its kubelet folder is gone (its watchdog cleaned up)", async (t) => {
  const file = tempLock(t);
  const ownerDir = mkdtempSync(join(tmpdir(), 'critap-kubelet-dead-'));
  t.after(() => rmSync(ownerDir, { recursive: true, force: true }));
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  writeFileSync(file, `${dead}\n${ownerDir}`);
  let taken = false;
  const lock = acquireKubeletLock(5000, file).then((l) => ((taken = true), l));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(taken, false, 'waits while the dead owner is being cleaned up');
  rmSync(ownerDir, { recursive: true });
  (await lock).release();
  assert.equal(taken, true);
});

test('the holder names its kubelet folder in the lock', async (t) => {
  const file = tempLock(t);
  const lock = await acquireKubeletLock(1000, file);
  lock.noteDir('/tmp/critap-kubelet-x');
  assert.equal(readFileSync(file, 'utf8'), `${process.pid}\n/tmp/critap-kubelet-x`);
  lock.release();
});

test('waiting has a limit, and says who holds the lock', async (t) => {
  const file = tempLock(t);
  writeFileSync(file, '1'); // pid 1 lives as long as the machine
  await assert.rejects(acquireKubeletLock(300, file), /held by pid 1/);
});
