import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, removeSocket } from '../../src/proxy/listener.js';

/**
 * Binds under umask 000 and looks at the final path at the first moment anything could:
 * the 'listening' event, emitted right after bind() and before listen() returns. Whenever the
 * path exists it must already have the asked-for mode.
 */
async function listenAndWatch(t: { after(fn: () => unknown): void }, path: string, mode: number): Promise<number[]> {
  const seen: number[] = [];
  const server = net.createServer((s) => s.end('hi\n'));
  const look = () => {
    if (existsSync(path)) seen.push(statSync(path).mode & 0o777);
  };
  server.on('listening', look);
  const old = process.umask(0);
  try {
    await listen(server, { kind: 'unix', path }, mode);
    assert.equal(process.umask(0), 0, 'listen leaves the umask as it found it');
  } finally {
    process.umask(old);
  }
  look();
  t.after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await removeSocket({ kind: 'unix', path });
  });
  const answer = await new Promise<string>((resolve, reject) => {
    let got = '';
    net.connect({ path }).on('data', (b) => (got += b)).on('end', () => resolve(got)).on('error', reject);
  });
  assert.equal(answer, 'hi\n', 'the socket at its final path serves');
  return seen;
}

test('under umask 000 the socket never exists with a wider mode than asked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'critap-mode-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'critap.sock');
  const seen = await listenAndWatch(t, path, 0o660);
  assert.ok(seen.length > 0);
  for (const m of seen) assert.equal(m.toString(8), '660');
  assert.deepEqual(readdirSync(dir), ['critap.sock'], 'no private folder left behind');
});

test('a path too long for the private folder (near the 107-byte limit) also gets its mode at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'critap-mode-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const parent = join(dir, 'p'.repeat(Math.max(1, 100 - dir.length - 4)));
  await mkdir(parent);
  const path = join(parent, 'a.sock');
  assert.ok(Buffer.byteLength(path) <= 107 && Buffer.byteLength(join(parent, '.cXXXXXX', 's')) > 107, `test path ${path.length} bytes`);
  const seen = await listenAndWatch(t, path, 0o600);
  for (const m of seen) assert.equal(m.toString(8), '600');
});
