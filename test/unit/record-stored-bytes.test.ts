import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { prepareCall, redactionRules } from '../../src/record/prepare.js';
import { SecretMemory } from '../../src/record/secret-memory.js';
import { goldenCalls } from './record-golden-calls.js';

/**
 * What the recorder stores for each golden call: the first 16 hex digits of the value's sha256,
 * its ids and whether it counts as redacted. Taken from the recorder before the per-call
 * preparation was made cheaper (requestHasIds, one scan of the headers, the header JSON written
 * straight into the value): a change that alters a stored byte fails here, and must then be a
 * new recording format version (src/record/format.ts), not a silent change.
 */
const STORED: Array<[string, string, Record<string, string>, boolean]> = [
  ['version', '6bddf941736c93bf', {}, false],
  ['run-pod-sandbox', '4ab6e8c60980126d', {"podSandboxId":"sb-1","podName":"nginx","podNamespace":"web","podUid":"uid-nginx"}, false],
  ['create-container', '23ac3748f050033b', {"podSandboxId":"sb-1","containerId":"c-1","podName":"nginx","podNamespace":"web","podUid":"uid-nginx","containerName":"app","image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['create-container-keep-env', '4aa29f256722253d', {"podSandboxId":"sb-1","containerId":"c-2","podName":"nginx","podNamespace":"web","podUid":"uid-nginx","containerName":"app","image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['create-container-redact-labels', '83e6847ef575d5a9', {"podSandboxId":"sb-1","containerId":"c-3","podName":"nginx","podNamespace":"web","podUid":"uid-nginx","containerName":"[REDACTED]","image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['pull-image', '0c3abc9151cbfd03', {"image":"registry.test/app-Gf3hJk6LzX9cVb"}, true],
  ['failed-with-details', '5a324190b35ae070', {"podSandboxId":"sb-gone"}, false],
  ['truncated', 'afbc0c8e34b0ed63', {"containerId":"c-trunc"}, false],
  ['fault', 'be148aef60ce4b65', {}, false],
  ['compressed', 'a2b36243494858d6', {}, false],
  ['unparseable', 'a981e0967e5a4089', {"containerId":"c-bad"}, true],
  ['secret-repeated', '0768622ee67f7166', {"containerId":"c-1"}, true],
  ['no-peer', '6239be83a5f85f3e', {}, false],
];

test('prepareCall stores the same bytes, ids and redaction flag for every golden call', () => {
  const secrets = new SecretMemory();
  const calls = goldenCalls();
  assert.deepEqual(calls.map(([name]) => name), STORED.map(([name]) => name));
  for (const [i, [name, call, rules]] of calls.entries()) {
    const p = prepareCall(call, rules ? redactionRules(rules) : undefined, secrets);
    const [, digest, ids, redacted] = STORED[i]!;
    assert.equal(createHash('sha256').update(p.value).digest('hex').slice(0, 16), digest, `${name}: stored bytes`);
    assert.deepEqual(p.ids, ids, `${name}: ids`);
    assert.equal(p.redacted, redacted, `${name}: redacted`);
  }
});
