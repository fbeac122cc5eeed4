import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { command as exportCommand } from '../../src/cli/export.js';
import { command as importCommand } from '../../src/cli/import.js';
import { openRecorder } from '../../src/record/recorder.js';
import { openRecording } from '../../src/record/reader.js';
import type { StoredCall } from '../../src/record/stored-call.js';
import { createContainer, makeCall, pullImage, runPodSandbox, T0, V1, versionCall } from './record-fixtures.js';
import { readAllCalls } from '../support/read-recording.js';

const withoutKey = ({ key: _key, ...rest }: StoredCall) => rest;

test('critap export --format jsonl then critap import gives the same calls, bytes exact', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-jsonl-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const src = join(root, 'src');
  const rec = await openRecorder({ dir: src });
  const events = makeCall({ method: V1 + 'GetContainerEvents', responses: [{ containerId: 'a' }, { containerId: 'b' }, {}], startNs: T0 + 5n });
  events.status = { code: 1, message: 'cancelled by client', details: Buffer.from([8, 1, 18, 2, 104, 105]) };
  events.end = 'client-reset';
  rec.onCallEnd(versionCall(T0));
  rec.onCallEnd(pullImage(T0 + 1n));
  rec.onCallEnd(runPodSandbox('sb-1', T0 + 2n));
  rec.onCallEnd(createContainer('sb-1', 'ctr-1', T0 + 3n));
  rec.onCallEnd(events);
  rec.onCallEnd({ ...versionCall(T0 + 6n), method: '/example.Unknown/Thing', requests: [{ offsetNs: 0, data: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }] });
  await rec.close();

  const file = join(root, 'out.jsonl');
  assert.equal(await exportCommand.run([src, '--format', 'jsonl', '--out', file]), 0);
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 6);
  const first = JSON.parse(lines[0]!);
  assert.equal(first.view.response.runtimeName, 'containerd', 'decoded view for people');
  assert.equal(JSON.parse(lines[5]!).view.request['@raw'], '3q2+7w==', 'unknown methods are kept raw');

  const dst = join(root, 'dst');
  assert.equal(await importCommand.run([file, dst]), 0);
  const [a, b] = [await readAllCalls(src), await readAllCalls(dst)];
  assert.equal(b.length, a.length);
  assert.deepEqual(b.map(withoutKey), a.map(withoutKey));
  for (let i = 0; i < a.length; i++) {
    const bodies = (c: StoredCall) => Buffer.concat([...c.requests, ...c.responses].map((m) => m.data));
    assert.ok(bodies(a[i]!).equals(bodies(b[i]!)), `call ${i} bodies byte-identical`);
  }
  assert.ok(b[1]!.redacted!.includes('request'), 'redaction flags survive');

  const r = await openRecording(dst);
  const pod = [];
  for await (const c of r.calls({ pod: 'nginx' })) pod.push(c.method);
  await r.close();
  assert.deepEqual(pod, [V1 + 'RunPodSandbox', V1 + 'CreateContainer'], 'the index is rebuilt on import');
});

test('import stops at a bad line, says which, and keeps the lines before it', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'critap-jsonl-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const src = join(root, 'src');
  const rec = await openRecorder({ dir: src });
  rec.onCallEnd(versionCall(T0));
  await rec.close();
  const file = join(root, 'in.jsonl');
  assert.equal(await exportCommand.run([src, '--out', file]), 0);
  const good = (await readFile(file, 'utf8')).trim();
  await writeFile(file, `${good}\n\n${good}\n{"method": 3}\n${good}\n`);
  const dst = join(root, 'dst');
  await assert.rejects(importCommand.run([file, dst]), /in\.jsonl line 4: "method" must be a non-empty string \(imported 2 calls before it/);
  assert.equal((await readAllCalls(dst)).length, 2);
  await assert.rejects(exportCommand.run([src, '--format', 'xml']), /--format must be one of jsonl/);
  await assert.rejects(importCommand.run([join(root, 'missing.jsonl'), dst]), /cannot read .*missing\.jsonl/);
});
