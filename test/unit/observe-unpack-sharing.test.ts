import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallRecord, Header } from '../../src/call.js';
import { packBatch, unpackBatch } from '../../src/observe/transfer.js';
import { decodeValueHeader, encodeCallValue } from '../../src/record/call-codec.js';

function call(i: number, metadata: Header[], trailers: Header[]): CallRecord {
  return {
    method: '/runtime.v1.RuntimeService/Version',
    startNs: 1_795_000_000_000_000_000n + BigInt(i),
    durationNs: 1000,
    requests: [{ offsetNs: 0, data: Buffer.from([i]) }],
    responses: [],
    status: { code: 0, message: '' },
    end: 'trailers',
    requestMetadata: metadata,
    responseHeaders: [['content-type', 'application/grpc']],
    responseTrailers: trailers,
    requestBytes: 6,
    responseBytes: 0,
  };
}

const ends = (batch: ReturnType<typeof packBatch>): CallRecord[] => unpackBatch(structuredClone(batch)).map((e) => ('end' in e ? e.end : assert.fail('not an end')));

test('repeated header lists unpack as one array, repeated pairs as one pair, and every list as sent', () => {
  const md = (timeout: string): Header[] => [['content-type', 'application/grpc'], ['grpc-timeout', timeout], ['te', 'trailers']];
  const ok: Header[] = [['grpc-status', '0']];
  const sent = [call(0, md('1S'), ok), call(1, md('1S'), ok), call(2, md('2S'), ok), call(3, md('1S'), [['grpc-status', '5']]), call(4, [], ok), call(5, [], ok)];
  const got = ends(packBatch(sent.map((end) => ({ end }))));
  for (const [i, c] of got.entries()) {
    assert.deepEqual(c.requestMetadata, sent[i]!.requestMetadata, `call ${i} metadata`);
    assert.deepEqual(c.responseHeaders, sent[i]!.responseHeaders, `call ${i} headers`);
    assert.deepEqual(c.responseTrailers, sent[i]!.responseTrailers, `call ${i} trailers`);
  }
  assert.equal(got[1]!.requestMetadata, got[0]!.requestMetadata, 'the same list twice in a row: one array');
  assert.notEqual(got[2]!.requestMetadata, got[1]!.requestMetadata, 'another timeout: another list');
  assert.equal(got[2]!.requestMetadata[0], got[1]!.requestMetadata[0], '…sharing the pairs that repeat');
  assert.equal(got[5]!.responseHeaders, got[0]!.responseHeaders);
  assert.notEqual(got[3]!.responseTrailers, got[2]!.responseTrailers);
  assert.equal(got[4]!.responseTrailers, got[4]!.responseTrailers);
  assert.equal(got[5]!.requestMetadata, got[4]!.requestMetadata, 'empty lists too');
});

test('stored values stay right when shared lists and new lists take turns', () => {
  const a: Header[] = [['user-agent', 'kubelet']];
  const b: Header[] = [['user-agent', 'crictl'], ['x-other', 'v']];
  const ok: Header[] = [['grpc-status', '0']];
  for (const metadata of [a, a, b, a, b, b, [...a]]) {
    const { header } = decodeValueHeader(encodeCallValue(call(0, metadata, ok), {}, undefined));
    assert.deepEqual(header.requestMetadata, metadata);
    assert.deepEqual(header.responseTrailers, ok);
  }
});
