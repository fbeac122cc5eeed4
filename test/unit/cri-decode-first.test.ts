// critap builds a type's decoder alone on its first decode (schema.ts), not protobuf.js's five
// codecs at once. The decoded views must be exactly those of protobuf.js's own setup, for every
// message of every shipped recording, and encode (protobuf.js's full setup) must still work after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { decodeMessage, encodeMessage } from '../../src/cri/codec.js';
import { messageToJson } from '../support/json-view-reference.js';
import { lookupMethod } from '../../src/cri/methods.js';
import { CRI_PACKAGES, packageRoot, protoFileOf } from '../../src/cri/schema-files.js';
import { openRecording } from '../../src/record/reader.js';

/** The schema as protobuf.js alone builds it, decoding through its own Type.setup. */
function reference(): protobuf.Root {
  const r = new protobuf.Root();
  r.loadSync(CRI_PACKAGES.map((p) => join(packageRoot(), protoFileOf(p))), { keepCase: false });
  r.resolveAll();
  return r;
}

test('every message of every shipped recording decodes to the view protobuf.js own setup gives', async () => {
  const ref = reference();
  const recordings = join(packageRoot(), 'recordings');
  let messages = 0;
  for (const name of readdirSync(recordings, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    const rec = await openRecording(join(recordings, name.name));
    try {
      for await (const call of rec.calls()) {
        const info = lookupMethod(call.method);
        if (!info) continue;
        const bodies: [string, Buffer][] = [
          ...call.requests.filter((m) => !m.compressed).map((m): [string, Buffer] => [info.requestType, m.data]),
          ...call.responses.filter((m) => !m.compressed).map((m): [string, Buffer] => [info.responseType, m.data]),
        ];
        for (const [typeName, data] of bodies) {
          const refType = ref.lookupType(typeName);
          const expected = messageToJson(refType, refType.decode(data) as unknown as Record<string, unknown>);
          assert.deepEqual(decodeMessage(typeName, data), expected, `${call.method} ${typeName}`);
          messages++;
        }
      }
    } finally {
      await rec.close();
    }
  }
  assert.ok(messages > 700, `decoded ${messages} messages`);
});

test('after a decode, encoding the same type (protobuf.js full setup) round-trips', () => {
  const json = { containers: [{ id: 'c1', podSandboxId: 'p1', state: 'CONTAINER_EXITED', labels: { app: 'web' }, createdAt: '1700000000000000000' }] };
  const bytes = encodeMessage('runtime.v1alpha2.ListContainersResponse', json);
  const first = decodeMessage('runtime.v1alpha2.ListContainersResponse', bytes);
  assert.deepEqual(decodeMessage('runtime.v1alpha2.ListContainersResponse', encodeMessage('runtime.v1alpha2.ListContainersResponse', first)), first);
  assert.equal((first['containers'] as { state: string }[])[0]!.state, 'CONTAINER_EXITED');
});
