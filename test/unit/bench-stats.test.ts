import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCount, median, percentile, rotate, roundRatios } from '../../bench/stats.js';
import { mergeResults } from '../../bench/client-pool.js';
import { areaOf, summarizeProfile } from '../../bench/profile-summary.js';

test('percentile is nearest-rank over unsorted values', () => {
  const v = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(v, 50), 5);
  assert.equal(percentile(v, 99), 10);
  assert.equal(percentile(v, 10), 1);
  assert.equal(median([3, 1, 2]), 2);
  assert.ok(Number.isNaN(median([])));
  assert.equal(median([4, 1]), 2.5, 'two rounds: their mean, not the lower one');
  assert.equal(median([1, 9, 2, 3]), 2.5);
});

test('roundRatios pairs rounds and skips missing or zero baselines', () => {
  assert.deepEqual(roundRatios([2, 6, undefined, 4], [1, 3, 5, 0]), [2, 2]);
  assert.deepEqual(roundRatios([1, 2, 3], [1]), [1]);
});

test('rotate gives every element every position', () => {
  assert.deepEqual(rotate(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
  assert.deepEqual(rotate(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
  assert.deepEqual(rotate(['a', 'b', 'c'], 5), ['c', 'a', 'b']);
  assert.deepEqual(rotate([], 3), []);
});

test('formatCount keeps table cells short', () => {
  assert.equal(formatCount(1_234_567), '1.23 M');
  assert.equal(formatCount(12_345), '12.3 k');
  assert.equal(formatCount(412.4), '412');
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(1.234), '1.23');
  assert.equal(formatCount(NaN), '—');
});

test('mergeResults spans the earliest start to the latest end and sums counts and client CPU', () => {
  const m = mergeResults([
    { client: 'h2', ok: 10, errors: 0, startMs: 100, endMs: 200, messages: 10, responseBytes: 50, latenciesUs: [1, 2], clientCpuUs: 700, firstAnswer: 'QQ==' },
    { client: 'h2', ok: 5, errors: 1, firstError: 'boom', startMs: 90, endMs: 250, messages: 5, responseBytes: 25, latenciesUs: [3], clientCpuUs: 300, firstAnswer: 'QQ==' },
  ]);
  assert.deepEqual(m, { client: 'h2', ok: 15, errors: 1, firstError: 'boom', startMs: 90, endMs: 250, messages: 15, responseBytes: 75, latenciesUs: [1, 2, 3], clientCpuUs: 1000, firstAnswer: 'QQ==' });
});

test('mergeResults counts workers that got different answers to the same request as an error', () => {
  const m = mergeResults([
    { client: 'h2', ok: 1, errors: 0, startMs: 0, endMs: 1, messages: 1, responseBytes: 1, clientCpuUs: 1, firstAnswer: 'QQ==' },
    { client: 'h2', ok: 1, errors: 0, startMs: 0, endMs: 1, messages: 1, responseBytes: 1, clientCpuUs: 1, firstAnswer: 'Qg==' },
  ]);
  assert.equal(m.errors, 1);
  assert.match(m.firstError ?? '', /different answers/);
});

test('profile summary sums self time per area and function', () => {
  assert.equal(areaOf('file:///work/main/dist/src/wire/hpack.js', 'decode'), 'src/wire');
  assert.equal(areaOf('file:///x/node_modules/@grpc/grpc-js/build/src/a.js', 'f'), '@grpc/grpc-js');
  assert.equal(areaOf('node:internal/stream_base_commons', 'writeGeneric'), 'node:internal');
  assert.equal(areaOf('', '(garbage collector)'), 'GC');
  const s = summarizeProfile({
    nodes: [
      { id: 1, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: 'decode', url: 'file:///r/dist/src/wire/hpack.js', lineNumber: 9 } },
    ],
    samples: [1, 2, 2],
    timeDeltas: [1000, 2000, 3000],
  });
  assert.equal(s.totalMs, 6);
  assert.equal(s.byArea.get('src/wire'), 5);
  assert.equal(s.byArea.get('(idle)'), 1);
  assert.equal(s.byFunction.get('decode wire/hpack.js:10'), 5);
});
