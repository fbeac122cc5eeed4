// compareMethodPaths must order method paths exactly as localeCompare does (critap stats sorts
// methods with equal call counts by it), without ICU's collator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareMethodPaths } from '../../src/cri/method-order.js';
import { allMethods } from '../../src/cri/methods.js';

const sign = (n: number) => Math.sign(n);

test('every pair of CRI method paths, and look-alikes, compares as localeCompare does', () => {
  const paths = allMethods().map((m) => m.path);
  assert.ok(paths.length > 50);
  const extra = [
    '/runtime.v1.RuntimeService/ListContainers', '/runtime.v1.RuntimeService/ListContainerStats',
    '/runtime.v1.RuntimeService/listcontainers', '/runtime.v1.RuntimeService/LISTCONTAINERS',
    '/runtime.v1.RuntimeService/ListContainersX', '/runtime.v1.RuntimeService/List', '/runtime.v2.RuntimeService/List',
    '/a/B', '/a/b', '/A/b', '/a.b', '/a/b9', '/a/b10', '/a/B10', '', 'a', 'A', 'aA', 'Aa', 'ab', 'aB', '9', '/9', '.9',
  ];
  const all = [...paths, ...extra];
  let pairs = 0;
  for (const a of all) {
    for (const b of all) {
      assert.equal(sign(compareMethodPaths(a, b)), sign(a.localeCompare(b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
      pairs++;
    }
  }
  assert.ok(pairs > 5000);
});

test('paths with other characters are left to localeCompare', () => {
  for (const [a, b] of [['/x/a_b', '/x/a-b'], ['/x/é', '/x/f'], ['/x/a b', '/x/ab']] as const) {
    assert.equal(sign(compareMethodPaths(a, b)), sign(a.localeCompare(b)));
  }
});
