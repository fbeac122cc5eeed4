import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openRecording } from '../../src/record/reader.js';

const CHILD = fileURLToPath(new URL('./record-writer-child.js', import.meta.url));

interface Run {
  child: ChildProcess;
  /** seq → when this process read "handed seq" (never earlier than the child's onCallEnd). */
  handed: Map<number, number>;
  lines: string[];
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(dir: string): Run {
  const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const handed = new Map<number, number>();
  const lines: string[] = [];
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    if (line === 'ready') onReady();
    const m = /^handed (\d+)$/.exec(line);
    if (m) handed.set(Number(m[1]), performance.now());
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, handed, lines, ready, exited };
}

async function storedSeqs(dir: string): Promise<Set<number>> {
  const r = await openRecording(dir);
  const seqs = new Set<number>();
  for await (const c of r.calls()) seqs.add(Number(c.ids.containerId!.slice('ctr-'.length)));
  await r.close();
  return seqs;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('SIGKILL: every call handed to onCallEnd at least 250 ms before the kill is in the recording', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-crash-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const run = startChild(dir);
  await run.ready;
  await sleep(1200);
  const killedAt = performance.now();
  run.child.kill('SIGKILL');
  assert.equal((await run.exited).signal, 'SIGKILL');
  const due = [...run.handed].filter(([, at]) => at <= killedAt - 250).map(([seq]) => seq);
  assert.ok(due.length > 50, `the child handed over enough calls to make this meaningful (${due.length})`);
  const stored = await storedSeqs(dir);
  const missing = due.filter((s) => !stored.has(s));
  assert.deepEqual(missing, [], `${missing.length} of ${due.length} calls due before the kill are missing`);
});

test('SIGTERM: close() flushes every call handed over', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-term-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const run = startChild(dir);
  await run.ready;
  // Enough calls handed over to mean something, however slowly a loaded machine runs the child.
  for (let waited = 0; run.handed.size <= 10 && waited < 20_000; waited += 50) await sleep(50);
  await sleep(100); // and some still in the recorder's queue when the signal comes
  run.child.kill('SIGTERM');
  const { code } = await run.exited;
  assert.equal(code, 0);
  const handed = [...run.handed.keys()];
  assert.ok(handed.length > 10);
  assert.ok(run.lines.includes(`closed ${handed.length}`), `child reports ${handed.length} recorded: ${run.lines.at(-1)}`);
  const stored = await storedSeqs(dir);
  assert.deepEqual([...stored].sort((a, b) => a - b), handed.sort((a, b) => a - b));
});
