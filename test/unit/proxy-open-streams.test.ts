/** OpenStreams: a connection's open calls by id, as a Map of them would answer. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenStreams } from '../../src/proxy/open-streams.js';

interface S {
  id: number;
  tag: string;
}

/** Deterministic pseudo-random numbers, so a failure can be reproduced. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('answers as a Map does through random adds and deletes, few and many open, ids in and out of order', () => {
  for (const [seed, idRange, inOrder] of [[1, 20, true], [2, 400, true], [3, 30, false], [4, 500, false]] as const) {
    const rand = lcg(seed);
    const open = new OpenStreams<S>();
    const model = new Map<number, S>();
    let next = 1;
    for (let step = 0; step < 5000; step++) {
      if (rand() < 0.55) {
        const id = inOrder ? (next += 2) : 1 + 2 * Math.floor(rand() * idRange);
        const s = { id, tag: `${seed}:${step}` };
        open.set(s);
        model.set(id, s);
      } else {
        const id = 1 + 2 * Math.floor(rand() * (inOrder ? next / 2 : idRange));
        assert.equal(open.delete(id), model.delete(id));
      }
      const probe = 1 + Math.floor(rand() * (inOrder ? next : 2 * idRange));
      assert.equal(open.get(probe), model.get(probe));
      assert.equal(open.has(probe), model.has(probe));
      assert.equal(open.size, model.size);
    }
    const ids = open.snapshot().map((s) => s.id);
    assert.deepEqual(ids, [...model.keys()].sort((a, b) => a - b), 'snapshot: every open call, ids ascending');
  }
});

test('a snapshot stays whole while the calls in it are deleted', () => {
  const open = new OpenStreams<S>();
  for (const id of [1, 3, 5, 7]) open.set({ id, tag: '' });
  const seen: number[] = [];
  for (const s of open.snapshot()) {
    seen.push(s.id);
    open.delete(s.id);
  }
  assert.deepEqual(seen, [1, 3, 5, 7]);
  assert.equal(open.size, 0);
  assert.equal(open.get(3), undefined);
});
