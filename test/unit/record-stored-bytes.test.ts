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
  ['version', '474ef3490462c9d8', '6bddf941736c93bf', {}, false],
  ['run-pod-sandbox', 'bbf45fe73a127fc9', '4ab6e8c60980126d', {"podSandboxId":"sb-1","podName":"nginx","podNamespace":"web","podUid":"uid-nginx"}, false],
  ['create-container', '13a76a783419841b', '23ac3748f050033b', {"podSandboxId":"sb-1","containerId":"c-1","podName":"nginx","podNamespace":"web","podUid":"uid-nginx","containerName":"app","image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['create-container-keep-env', '478ea5379ad4df6d', '4aa29f256722253d', {"podSandboxId":"sb-1","containerId":"c-2","podName":"nginx","podNamespace":"web","podUid":"uid-nginx","containerName":"app","image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['create-container-redact-labels', 'd1f3367642b0da65', '83e6847ef575d5a9', {"podSandboxId":"sb-1","containerId":"c-3","podName":"nginx","podNamespace":"web","podUid":"uid-nginx","containerName":"[REDACTED]","image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['pull-image', '85f751221a25dcf1', '0c3abc9151cbfd03', {"image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['failed-with-details', '860d615ece9b8d86', '5a324190b35ae070', {"podSandboxId":"sb-gone"}, false],
  ['truncated', '9f8dbb8adf8aa800', 'afbc0c8e34b0ed63', {"containerId":"c-trunc"}, false],
  ['fault', 'c24e233574b6c2d4', 'be148aef60ce4b65', {}, false],
  ['compressed', '4da504409991c036', 'a2b36243494858d6', {}, false],
  ['unparseable', 'a2b0870537699af5', 'a981e0967e5a4089', {"containerId":"c-bad"}, true],
  ['secret-repeated', '1f885457c8e39e6d', '0768622ee67f7166', {"containerId":"c-1"}, true],
  ['no-peer', 'cec3e40584113e11', '6239be83a5f85f3e', {}, false],
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
