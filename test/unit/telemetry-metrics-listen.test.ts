import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListen } from '../../src/telemetry/metrics-server.js';

test('metrics listen addresses: host:port, [v6]:port, :port and a bare port', () => {
  assert.deepEqual(parseListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseListen('[::1]:9464'), { host: '::1', port: 9464 });
  assert.deepEqual(parseListen(':9464'), { host: undefined, port: 9464 });
  assert.deepEqual(parseListen('9464'), { host: undefined, port: 9464 });
  assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
});

test('bad metrics addresses get a critap: error', () => {
  for (const bad of ['', 'abc', '127.0.0.1:', '127.0.0.1:99999', 'http://127.0.0.1:9464', '::1:9464']) {
    assert.throws(() => parseListen(bad), /^Error: critap: metrics address/, bad);
  }
});
