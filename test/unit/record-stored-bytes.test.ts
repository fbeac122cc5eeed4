import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { prepareCall, redactionRules } from '../../src/record/prepare.js';
import { decodeCallValue, decodeValueHeader, encodeJsonValue } from '../../src/record/call-codec.js';
import { SecretMemory } from '../../src/record/secret-memory.js';
import { goldenCalls } from './record-golden-calls.js';

/**
 * What the recorder stores for each golden call: the first 16 hex digits of the value's sha256
 * (value format 3, binary-value.ts), the same for the value an older critap stored (JSON header,
 * value format 1, written for every golden call by the revision before format 3 and by
 * encodeJsonValue now), its ids and whether it counts as redacted. A change that alters a stored
 * byte fails here, and must then be a new value format (and recording format version,
 * src/record/manifest.ts), not a silent change.
 */
const STORED: Array<[string, string, string, Record<string, string>, boolean]> = [
  ['version', 'fe6164dd9b23ed4e', '6bddf941736c93bf', {}, false],
  ['run-pod-sandbox', '26b53c8ef3f1ecf4', '4ab6e8c60980126d', {"podSandboxId":"sb-1","podName":"nginx","podNamespace":"web","podUid":"uid-nginx"}, false],
  ['create-container', '448a5b1cf4d07c01', '23ac3748f050033b', {"podSandboxId":"sb-1","containerId":"c-1","podName":"nginx","podNamespace":"web","podUid":"uid-nginx","containerName":"app","image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['create-container-keep-env', 'f23b8395822b2972', '4aa29f256722253d', {"podSandboxId":"sb-1","containerId":"c-2","podName":"nginx","podNamespace":"web","podUid":"uid-nginx","containerName":"app","image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['create-container-redact-labels', 'e39c9a5ff56a1a13', '83e6847ef575d5a9', {"podSandboxId":"sb-1","containerId":"c-3","podName":"nginx","podNamespace":"web","podUid":"uid-nginx","containerName":"[REDACTED]","image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['pull-image', 'e34317ac81f3ba11', '0c3abc9151cbfd03', {"image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['failed-with-details', '5785343c0dcd68b4', '5a324190b35ae070', {"podSandboxId":"sb-gone"}, false],
  ['truncated', '4979bb2626005fec', 'afbc0c8e34b0ed63', {"containerId":"c-trunc"}, false],
  ['fault', '5ac2f8c6fbdf7643', 'be148aef60ce4b65', {}, false],
  ['compressed', 'c2666924c755ee46', 'a2b36243494858d6', {}, false],
  ['unparseable', 'f9af65ca0831476d', 'a981e0967e5a4089', {"containerId":"c-bad"}, true],
  ['secret-repeated', '32c475b458bfe608', '0768622ee67f7166', {"containerId":"c-1"}, true],
  ['no-peer', '0f69b2ace325383e', '6239be83a5f85f3e', {}, false],
];

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);

test('prepareCall stores the same bytes, ids and redaction flag for every golden call', () => {
  const secrets = new SecretMemory();
  const calls = goldenCalls();
  assert.deepEqual(calls.map(([name]) => name), STORED.map(([name]) => name));
  for (const [i, [name, call, rules]] of calls.entries()) {
    const p = prepareCall(call, rules ? redactionRules(rules) : undefined, secrets);
    const [, binary, , ids, redacted] = STORED[i]!;
    assert.equal(p.value[0], 3, `${name}: value format`);
    assert.equal(digest(p.value), binary, `${name}: stored bytes`);
    assert.deepEqual(p.ids, ids, `${name}: ids`);
    assert.equal(p.redacted, redacted, `${name}: redacted`);
  }
});

test('each golden call stored as an older critap did (JSON header) reads back exactly as stored now', () => {
  const secrets = new SecretMemory();
  for (const [i, [name, call, rules]] of goldenCalls().entries()) {
    const p = prepareCall(call, rules ? redactionRules(rules) : undefined, secrets);
    const now = decodeCallValue('k', p.value);
    const old = encodeJsonValue(now, now.ids, now.redacted);
    const [, , json] = STORED[i]!;
    assert.equal(digest(old), json, `${name}: the older bytes, byte for byte`);
    assert.deepEqual(decodeCallValue('k', old), now, `${name}: the same StoredCall`);
    assert.deepEqual(decodeValueHeader(old).header, decodeValueHeader(p.value).header, `${name}: the same ValueHeader`);
  }
});

test('one call\'s redaction flags and secret memory never carry over to the next call prepared', () => {
  const calls = new Map(goldenCalls().map(([name, call, rules]) => [name, { call, rules }]));
  const version = calls.get('version')!.call;
  const pull = calls.get('pull-image')!;
  const flagged = prepareCall(version, undefined, undefined, ['request:spooled-redacted']);
  assert.equal(flagged.redacted, true);
  assert.deepEqual(decodeCallValue('k', flagged.value).redacted, ['request:spooled-redacted']);
  const plain = prepareCall(version, undefined);
  assert.equal(plain.redacted, false);
  assert.equal(decodeCallValue('k', plain.value).redacted, undefined);
  // Each SecretMemory learns what its own calls redact, and only those.
  const first = new SecretMemory();
  const second = new SecretMemory();
  prepareCall(pull.call, pull.rules ? redactionRules(pull.rules) : undefined, first);
  assert.ok(first.size > 0);
  prepareCall(version, undefined, second);
  assert.equal(second.size, 0);
  prepareCall(pull.call, pull.rules ? redactionRules(pull.rules) : undefined, second);
  assert.equal(second.size, first.size);
});
