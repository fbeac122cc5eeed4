import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasSecretHeader, isSecretHeader, redactHeaders } from '../../src/record/secret-headers.js';

/** The rule as written before its quick exits: lower-case the name, then compare. */
function byRule(name: string): boolean {
  const n = name.toLowerCase();
  return n === 'authorization' || n === 'proxy-authorization' || n === 'cookie' || n === 'set-cookie' || n.endsWith('-token') || n.endsWith('-token-bin');
}

const NAMES = [
  'authorization', 'Authorization', 'AUTHORIZATION', 'proxy-authorization', 'Proxy-Authorization',
  'cookie', 'Cookie', 'COOKIE', 'set-cookie', 'Set-Cookie',
  'x-auth-token', 'X-Auth-TOKEN', 'x-registry-token-bin', 'X-Token-BIN', '-token', 'token', 'tokenn',
  'content-type', 'te', 'user-agent', ':authority', ':path', 'grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding',
  'cookies', 'xcookie', 'set-cookie2', 'authorisation', 'e', 'n', '', 'x-token-bi', 'İcookie', 'cookİe',
];

test('secret header names: the quick exits decide as the rule does', () => {
  for (const name of NAMES) assert.equal(isSecretHeader(name), byRule(name), name);
  assert.equal(hasSecretHeader([['content-type', 'application/grpc'], ['te', 'trailers']]), false);
  assert.equal(hasSecretHeader([['content-type', 'application/grpc'], ['X-Auth-Token', 'secret']]), true);
  assert.deepEqual(redactHeaders([['Cookie', 'a=b'], ['te', 'trailers']]), { headers: [['Cookie', 'REDACTED'], ['te', 'trailers']], names: ['cookie'] });
});
