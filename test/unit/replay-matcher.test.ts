import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matcher, type Candidate, type MatchResult } from '../../src/replay/matcher.js';
import { parseIgnoreRule, DEFAULT_IGNORE } from '../../src/replay/ignore.js';
import type { Json } from '../../src/replay/json-diff.js';

const STATUS = '/runtime.v1.RuntimeService/ContainerStatus';
const RUN = '/runtime.v1.RuntimeService/RunPodSandbox';
const VERSION = '/runtime.v1.RuntimeService/Version';

function c(method: string, request: Json, value: string): Candidate<string> {
  return { method, request, value };
}

function hit(r: MatchResult<string>): Extract<MatchResult<string>, { kind: 'hit' }> {
  assert.equal(r.kind, 'hit', r.kind === 'miss' ? r.message : '');
  return r as Extract<MatchResult<string>, { kind: 'hit' }>;
}

function miss(r: MatchResult<string>): Extract<MatchResult<string>, { kind: 'miss' }> {
  assert.equal(r.kind, 'miss');
  return r as Extract<MatchResult<string>, { kind: 'miss' }>;
}

const ignoreDefaults = DEFAULT_IGNORE.map(parseIgnoreRule);

test('equal requests get their recorded answers in order, then the last repeats', () => {
  const m = new Matcher([c(STATUS, { containerId: 'a' }, 'a1'), c(STATUS, { containerId: 'b' }, 'b1'), c(STATUS, { containerId: 'a' }, 'a2')]);
  assert.equal(hit(m.match(STATUS, { containerId: 'a' })).value, 'a1');
  assert.equal(hit(m.match(STATUS, { containerId: 'a' })).value, 'a2');
  const third = hit(m.match(STATUS, { containerId: 'a' }));
  assert.equal(third.value, 'a2');
  assert.equal(third.repeated, true);
  assert.equal(hit(m.match(STATUS, { containerId: 'b' })).value, 'b1');
});

test('on-exhausted error: a used-up request is a NOT_FOUND miss saying so', () => {
  const m = new Matcher([c(VERSION, {}, 'v')], { onExhausted: 'error' });
  assert.equal(hit(m.match(VERSION, {})).value, 'v');
  const r = miss(m.match(VERSION, {}));
  assert.equal(r.code, 5);
  assert.equal(r.reason, 'exhausted');
  assert.match(r.message, /Version request are used up \(it was recorded once; --on-exhausted error\)/);
});

test('nearest: fewest differing fields wins, and the differences are echoed', () => {
  const m = new Matcher([
    c(RUN, { config: { metadata: { name: 'web', namespace: 'prod' }, logDirectory: '/var/log/pods/web' } }, 'web'),
    c(RUN, { config: { metadata: { name: 'db', namespace: 'test' }, logDirectory: '/var/log/pods/db' } }, 'db'),
  ]);
  const r = hit(m.match(RUN, { config: { metadata: { name: 'db2', namespace: 'test' }, logDirectory: '/tmp/x/pods/db2' } }));
  assert.equal(r.value, 'db');
  assert.deepEqual(r.differences.map((d) => d.path), ['config.metadata.name', 'config.logDirectory']);
  assert.deepEqual([...r.echo], [
    ['db', 'db2'],
    ['/var/log/pods/db', '/tmp/x/pods/db2'],
  ]);
  assert.match(r.explanation, /answered with recorded call #1 \(nearest request, 2 fields differ\)/);
  assert.match(r.explanation, /config\.metadata\.name: recorded "db", got "db2"/);
});

test('echo learned from one call applies to later answers', () => {
  const m = new Matcher([c(RUN, { config: { metadata: { name: 'web' } } }, 'run'), c(STATUS, { containerId: 'x' }, 'status')]);
  hit(m.match(RUN, { config: { metadata: { name: 'mine' } } }));
  const later = hit(m.match(STATUS, { containerId: 'x' }));
  assert.deepEqual(later.differences, []);
  assert.deepEqual([...later.echo], [['web', 'mine']]);
});

test('numbers in strings are not echoed', () => {
  const m = new Matcher([c(STATUS, { timeout: '10', containerId: 'abc' }, 's')]);
  const r = hit(m.match(STATUS, { timeout: '5', containerId: 'abc' }));
  assert.equal(r.echo.size, 0);
});

test('exact: anything but an equal request is a NOT_FOUND miss showing the closest and the difference', () => {
  const m = new Matcher([c(STATUS, { containerId: 'abc', verbose: true }, 's')], { mode: 'exact' });
  assert.equal(hit(m.match(STATUS, { containerId: 'abc', verbose: true })).value, 's');
  const r = miss(m.match(STATUS, { containerId: 'abd' }));
  assert.equal(r.code, 5);
  assert.equal(r.reason, 'no-equal');
  assert.equal(r.closest?.index, 0);
  assert.match(r.message, /no recorded \/runtime\.v1\.RuntimeService\/ContainerStatus request equals this one \(--match exact\)/);
  assert.match(r.message, /call #0, differs in 2 fields/);
  assert.match(r.message, /containerId: recorded "abc", got "abd"/);
  assert.match(r.message, /verbose: recorded true, the request has none/);
});

test('a method never recorded is UNIMPLEMENTED, naming the method and what the recording has', () => {
  const m = new Matcher([c(VERSION, {}, 'v'), c(STATUS, {}, 's')]);
  const r = miss(m.match('/runtime.v1.ImageService/PullImage', { image: { image: 'x' } }));
  assert.equal(r.code, 12);
  assert.equal(r.reason, 'no-method');
  assert.equal(r.message, 'critap replay: the recording has no call of /runtime.v1.ImageService/PullImage; it has calls of ContainerStatus, Version');
});

test('sequence: the recorded order is enforced; requests may differ and are echoed', () => {
  const m = new Matcher([c(VERSION, {}, 'v'), c(RUN, { config: { metadata: { name: 'web' } } }, 'run'), c(STATUS, { containerId: 'x' }, 's')], {
    mode: 'sequence',
    onExhausted: 'error',
  });
  const wrong = miss(m.match(STATUS, { containerId: 'x' }));
  assert.equal(wrong.reason, 'out-of-sequence');
  assert.match(wrong.message, /call #0 of the recording is \/runtime\.v1\.RuntimeService\/Version, got \/runtime\.v1\.RuntimeService\/ContainerStatus/);
  assert.equal(hit(m.match(VERSION, {})).value, 'v');
  const run = hit(m.match(RUN, { config: { metadata: { name: 'mine' } } }));
  assert.equal(run.value, 'run');
  assert.deepEqual([...run.echo], [['web', 'mine']]);
  assert.equal(hit(m.match(STATUS, { containerId: 'x' })).value, 's');
  assert.equal(miss(m.match(VERSION, {})).reason, 'exhausted');
});

test('sequence with on-exhausted repeat answers like nearest once the sequence is over', () => {
  const m = new Matcher([c(VERSION, {}, 'v')], { mode: 'sequence' });
  hit(m.match(VERSION, {}));
  const again = hit(m.match(VERSION, {}));
  assert.equal(again.value, 'v');
  assert.equal(again.repeated, true);
});

test('ignored fields: the kubelet config.seen annotation by default, and rules by path and method', () => {
  const rec = { config: { metadata: { name: 'web' }, annotations: { 'kubernetes.io/config.seen': '2024-01-01T00:00:00Z', team: 'a' }, labels: { hash: '1' } } };
  const now = { config: { metadata: { name: 'web' }, annotations: { 'kubernetes.io/config.seen': '2025-05-05T00:00:00Z', team: 'a' }, labels: { hash: '2' } } };
  const strict = new Matcher([c(RUN, rec, 'r')], { mode: 'exact', ignore: ignoreDefaults });
  assert.match(miss(strict.match(RUN, now)).message, /config\.labels\.hash: recorded "1", got "2"/);
  assert.doesNotMatch(miss(strict.match(RUN, now)).message, /config\.seen/);
  const relaxed = new Matcher([c(RUN, rec, 'r')], { mode: 'exact', ignore: [...ignoreDefaults, parseIgnoreRule('RunPodSandbox:config.labels')] });
  assert.equal(hit(relaxed.match(RUN, now)).value, 'r');
  const wrongMethod = new Matcher([c(RUN, rec, 'r')], { mode: 'exact', ignore: [...ignoreDefaults, parseIgnoreRule('ContainerStatus:config.labels')] });
  assert.equal(wrongMethod.match(RUN, now).kind, 'miss');
  const wildcard = new Matcher([c(RUN, rec, 'r')], { mode: 'exact', ignore: [parseIgnoreRule('**.annotations'), parseIgnoreRule('*.labels.hash')] });
  assert.equal(hit(wildcard.match(RUN, now)).value, 'r');
});

test('ignore rules: snake_case names, quoted keys, and clear errors', () => {
  assert.deepEqual(parseIgnoreRule('config.log_directory').segments, ['config', 'logDirectory']);
  assert.deepEqual(parseIgnoreRule('config.annotations["a.b/c"]').segments, ['config', 'annotations', 'a.b/c']);
  assert.deepEqual(parseIgnoreRule('cmd[1]').segments, ['cmd', '1']);
  const r = parseIgnoreRule('runtime.v1.RuntimeService/RunPodSandbox:config.labels');
  assert.equal(r.method, 'runtime.v1.RuntimeService/RunPodSandbox');
  assert.throws(() => parseIgnoreRule('config..x'), /critap: --ignore "config\.\.x": empty path segment/);
  assert.throws(() => parseIgnoreRule('config["x'), /has no closing/);
  assert.throws(() => parseIgnoreRule('config.'), /ends with/);
});

test('explain says what would happen without using up answers', () => {
  const m = new Matcher([c(STATUS, { containerId: 'a' }, 'a1')], { onExhausted: 'error' });
  assert.match(m.explain(STATUS, { containerId: 'a' }), /answered with recorded call #0 \(equal request\)/);
  assert.match(m.explain(STATUS, { containerId: 'a' }), /equal request/);
  assert.equal(hit(m.match(STATUS, { containerId: 'a' })).value, 'a1');
  assert.match(m.explain(STATUS, { containerId: 'a' }), /used up/);
  assert.match(m.explain(VERSION, {}), /has no call of/);
});

test('calls added later (fallback answers) are matched like recorded ones', () => {
  const m = new Matcher<string>([], { mode: 'exact' });
  assert.equal(miss(m.match(VERSION, {})).reason, 'no-method');
  m.add(c(VERSION, {}, 'learned'));
  assert.equal(hit(m.match(VERSION, {})).value, 'learned');
});
