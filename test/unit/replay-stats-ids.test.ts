/**
 * Replay files a recorded stats answer under the ids it lists, read off the wire
 * (src/replay/state/stats-ids.ts) instead of decoding it whole: the key must be the one the
 * decoded answer gives, for both stats lists of both CRI versions and for odd items.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage } from '../../src/cri/codec.js';
import { recordedListKey, statsListKey } from '../../src/replay/state/lists.js';
import { statsIds } from '../../src/replay/state/stats-ids.js';

/** Stats items with these ids; undefined: an item with no attributes, null: attributes with no id. */
const items = (ids: Array<string | undefined | null>) => ids.map((id) => (id === undefined ? {} : id === null ? { attributes: { labels: { a: 'b' } } } : { attributes: { id, labels: { a: 'b' } } }));

test('the ids read off the wire give the list key the decoded answer gives', () => {
  for (const pkg of ['runtime.v1', 'runtime.v1alpha2']) {
    for (const [method, type] of [['ListContainerStats', 'ListContainerStatsResponse'], ['ListPodSandboxStats', 'ListPodSandboxStatsResponse']] as const) {
      const full = `${pkg}.${type}`;
      const data = encodeMessage(full, { stats: items(['b'.repeat(64), undefined, 'a'.repeat(64), null, '', 'c-ü']) });
      const ids = statsIds(full, data);
      assert.deepEqual(ids, ['b'.repeat(64), 'a'.repeat(64), 'c-ü'], `${full}: items without an id give none`);
      assert.equal(statsListKey(ids), recordedListKey(method, decodeMessage(full, data) as Record<string, unknown>), full);
    }
  }
  assert.equal(statsListKey(statsIds('runtime.v1.ListContainerStatsResponse', Buffer.alloc(0))), recordedListKey('ListContainerStats', {}));
});

test('attributes given twice are merged as decoding merges them: the last id wins', () => {
  const type = 'runtime.v1.ListContainerStatsResponse';
  const one = encodeMessage('runtime.v1.ContainerStats', { attributes: { id: 'first' } });
  const two = encodeMessage('runtime.v1.ContainerStats', { attributes: { id: 'second' } });
  // One stats item whose bytes hold two attributes fields (field 1 of stats, length-delimited).
  const item = Buffer.concat([one, two]);
  const data = Buffer.concat([Buffer.from([0x0a, item.length]), item]);
  assert.deepEqual(statsIds(type, data), ['second']);
  assert.equal(statsListKey(statsIds(type, data)), recordedListKey('ListContainerStats', decodeMessage(type, data) as Record<string, unknown>));
});

test('bytes that are not a stats answer are an error, which replay files under the key of an undecodable answer', () => {
  assert.throws(() => statsIds('runtime.v1.ListContainerStatsResponse', Buffer.from([0x0a, 0x7f, 0x01])));
  assert.throws(() => statsIds('runtime.v1.VersionResponse', Buffer.alloc(0)), /lists no stats/);
});
