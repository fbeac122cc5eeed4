import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointError, formatEndpoint, grpcTarget, netOptions, parseEndpoint } from '../../src/endpoint.js';

test('unix:///path and a bare /path are unix sockets', () => {
  assert.deepEqual(parseEndpoint('unix:///run/containerd/containerd.sock'), { kind: 'unix', path: '/run/containerd/containerd.sock' });
  assert.deepEqual(parseEndpoint('/run/critap/critap.sock'), { kind: 'unix', path: '/run/critap/critap.sock' });
  assert.deepEqual(parseEndpoint('  unix:///tmp/x.sock \n'), { kind: 'unix', path: '/tmp/x.sock' }, 'surrounding space is trimmed');
});

test('tcp://host:port, IPv6 in brackets, trailing slash allowed', () => {
  assert.deepEqual(parseEndpoint('tcp://127.0.0.1:10010'), { kind: 'tcp', host: '127.0.0.1', port: 10010 });
  assert.deepEqual(parseEndpoint('tcp://localhost:1/'), { kind: 'tcp', host: 'localhost', port: 1 });
  assert.deepEqual(parseEndpoint('tcp://[::1]:65535'), { kind: 'tcp', host: '::1', port: 65535 });
  assert.deepEqual(parseEndpoint('tcp://127.0.0.1:0'.replace(':0', ':8080')), { kind: 'tcp', host: '127.0.0.1', port: 8080 });
});

test('errors are EndpointErrors with a critap: prefix and a hint', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty endpoint/],
    ['   ', /empty endpoint/],
    ['unix://relative.sock', /absolute socket path/],
    ['unix://', /absolute socket path/],
    ['tcp://127.0.0.1', /tcp:\/\/host:port/],
    ['tcp://:80', /tcp:\/\/host:port/],
    ['tcp://host:port', /tcp:\/\/host:port/],
    ['tcp://::1:80', /tcp:\/\/host:port/],
    ['tcp://127.0.0.1:80/extra', /tcp:\/\/host:port/],
    ['tcp://127.0.0.1:0', /out of range/],
    ['tcp://127.0.0.1:65536', /out of range/],
    ['http://localhost:80', /unsupported endpoint/],
    ['relative/path.sock', /unsupported endpoint/],
    ['npipe:////./pipe/containerd', /unsupported endpoint/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseEndpoint(text),
      (err: unknown) => err instanceof EndpointError && err.message.startsWith('critap: ') && re.test(err.message),
      `parseEndpoint(${JSON.stringify(text)})`,
    );
  }
});

test('formatEndpoint is parseEndpoint\'s inverse', () => {
  for (const text of ['unix:///run/containerd/containerd.sock', 'tcp://127.0.0.1:10010', 'tcp://[::1]:5', 'tcp://example.test:443']) {
    assert.equal(formatEndpoint(parseEndpoint(text)), text);
  }
  assert.equal(formatEndpoint(parseEndpoint('/tmp/a.sock')), 'unix:///tmp/a.sock');
});

test('netOptions and grpcTarget', () => {
  assert.deepEqual(netOptions(parseEndpoint('/tmp/a.sock')), { path: '/tmp/a.sock' });
  assert.deepEqual(netOptions(parseEndpoint('tcp://[::1]:9')), { host: '::1', port: 9 });
  assert.equal(grpcTarget(parseEndpoint('/tmp/a.sock')), 'unix:///tmp/a.sock');
  assert.equal(grpcTarget(parseEndpoint('tcp://127.0.0.1:9')), '127.0.0.1:9');
  assert.equal(grpcTarget(parseEndpoint('tcp://[::1]:9')), '[::1]:9');
});
