/** critest's ginkgo JSON report: spec names and states, and the comparison of two runs by passed specs. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { compareRuns, readSpecStates } from '../support/critest-report.js';

function report(specs: [string[], string, string][]): string {
  const dir = mkdtempSync(join(tmpdir(), 'critap-critest-report-'));
  const file = join(dir, 'report.json');
  const SpecReports = [
    { ContainerHierarchyTexts: null, LeafNodeText: '', LeafNodeType: 'BeforeSuite', State: 'passed' },
    ...specs.map(([containers, text, state]) => ({ ContainerHierarchyTexts: containers, LeafNodeText: text, LeafNodeType: 'It', State: state })),
  ];
  writeFileSync(file, JSON.stringify([{ SuiteDescription: 'CRI validation', SpecReports }]));
  return file;
}

test('spec names join their containers and text; suite nodes are not specs', (t) => {
  const file = report([[['[k8s.io] Image Manager', 'listImage'], 'should get exactly 3 image', 'failed'], [['[k8s.io] PodSandbox'], 'runtime should support running PodSandbox', 'passed']]);
  t.after(() => rmSync(join(file, '..'), { recursive: true, force: true }));
  assert.deepEqual([...readSpecStates(file)], [
    ['[k8s.io] Image Manager listImage should get exactly 3 image', 'failed'],
    ['[k8s.io] PodSandbox runtime should support running PodSandbox', 'passed'],
  ]);
});

test('the comparison names the specs passed on one side only', () => {
  const direct = new Map([['a', 'passed'], ['b', 'passed'], ['c', 'failed'], ['d', 'skipped']]);
  const through = new Map([['a', 'passed'], ['b', 'failed'], ['c', 'passed'], ['d', 'skipped']]);
  const c = compareRuns(direct, through);
  assert.deepEqual(c.specs, ['a', 'b', 'c', 'd']);
  assert.deepEqual(c.passedDirect, ['a', 'b']);
  assert.deepEqual(c.passedThrough, ['a', 'c']);
  assert.deepEqual(c.lostThrough, ['b']);
  assert.deepEqual(c.gainedThrough, ['c']);
  assert.deepEqual(compareRuns(direct, direct).lostThrough, []);
});
