import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { DropCounter } from '../../src/telemetry/drop-counter.js';

test('drops are all counted but logged at most once per interval', () => {
  const lines: string[] = [];
  const d = new DropCounter(createLogger({ write: (l) => lines.push(l) }), 3_600_000);
  d.add(3, 'export failed: UNAVAILABLE');
  for (let i = 0; i < 100; i++) d.add(1, 'span queue full');
  assert.equal(d.total, 103);
  assert.equal(lines.length, 1, 'first drop is logged at once, the rest wait for the interval');
  assert.match(lines[0]!, /spans dropped/);
  assert.match(lines[0]!, /dropped=3/);
  d.flush(); // close() does this: the held-back count is not lost
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /dropped=100 total=103/);
  d.flush();
  assert.equal(lines.length, 2, 'nothing new, nothing logged');
});
