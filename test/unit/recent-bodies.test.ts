import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentBodiesByType, REMEMBER_FROM_BYTES } from '../../src/record/recent-bodies.js';

test('recent bodies: made once while among the last few of their type, by bytes not by length', () => {
  const recent = new RecentBodiesByType<string>(2);
  let made = 0;
  const get = (type: string, data: Buffer) => recent.get(type, data, () => `${type}:${data[0]}:${++made}`);
  const body = (first: number) => {
    const b = Buffer.alloc(REMEMBER_FROM_BYTES, 7);
    b[0] = first;
    return b;
  };
  const a = get('T', body(1));
  assert.equal(get('T', body(1)), a, 'an equal body (a different buffer) gets what was made');
  const b = get('T', body(2));
  assert.notEqual(b, a, 'same length, other bytes');
  assert.notEqual(get('U', body(1)), a, 'each type has its own list');
  assert.equal(get('T', body(1)), a);
  get('T', body(3)); // pushes body 1 out: two per type
  get('T', body(4));
  assert.notEqual(get('T', body(1)), a);
  const small = Buffer.alloc(REMEMBER_FROM_BYTES - 1);
  assert.notEqual(get('T', small), get('T', small), 'small bodies are made every time');
  const kept = body(9);
  const first = get('T', kept);
  kept[5] = 0; // the caller's buffer changes afterwards: the list kept a copy
  assert.notEqual(get('T', kept), first);
});
