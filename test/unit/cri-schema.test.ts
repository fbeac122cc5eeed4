import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { criRoot, lookupType } from '../../src/cri/schema.js';
import { CRI_PACKAGES, packageRoot, protoFileOf, schemaFileOf, schemaJson } from '../../src/cri/schema-files.js';
import { allMethods } from '../../src/cri/methods.js';
import { renderSchemaJson } from '../../scripts/gen-proto.js';

test('criRoot loads both CRI packages once', () => {
  const root = criRoot();
  assert.equal(criRoot(), root, 'cached');
  assert.ok(root.lookupService('runtime.v1.RuntimeService'));
  assert.ok(root.lookupService('runtime.v1alpha2.ImageService'));
});

test('field names are the protobuf JSON names (lowerCamelCase), as crictl -o json prints them', () => {
  const t = lookupType('runtime.v1.LinuxContainerResources');
  assert.ok(t.fields.memoryLimitInBytes);
  assert.ok(t.fields.oomScoreAdj);
  assert.equal(t.fields.memory_limit_in_bytes, undefined);
  // json_name keeps a leading capital and camel-cases after each underscore.
  assert.ok(lookupType('runtime.v1.ContainerConfig').fields.CDIDevices);
});

test('lookupType finds full names, with or without a leading dot, and rejects others', () => {
  const t = lookupType('runtime.v1.AuthConfig');
  assert.ok(t instanceof protobuf.Type);
  assert.equal(lookupType('.runtime.v1.AuthConfig'), t);
  assert.equal(lookupType('runtime.v1alpha2.AuthConfig').fullName, '.runtime.v1alpha2.AuthConfig');
  assert.equal(t.fields.identityToken!.options?.debug_redact, true);
  assert.throws(() => lookupType('AuthConfig'), /critap: unknown CRI message type 'AuthConfig'/);
  assert.throws(() => lookupType('runtime.v1.NoSuchThing'), /unknown CRI message type/);
  assert.throws(() => lookupType('runtime.v1.Protocol'), /unknown CRI message type/, 'an enum is not a message');
});

/** proto/ parsed the slow way, as critap did at every start before the schema JSON. */
function parsedProto(pkg: (typeof CRI_PACKAGES)[number]): protobuf.Root {
  const r = new protobuf.Root();
  r.loadSync(join(packageRoot(), protoFileOf(pkg)), { keepCase: false });
  r.resolveAll();
  return r;
}

test('each api.schema.json is its api.proto as critap parses it (run npm run gen-proto when stale)', () => {
  for (const pkg of CRI_PACKAGES) {
    const text = readFileSync(join(packageRoot(), protoFileOf(pkg)), 'utf8');
    assert.equal(readFileSync(join(packageRoot(), schemaFileOf(pkg)), 'utf8'), renderSchemaJson(text), `${schemaFileOf(pkg)} is stale`);
    assert.deepEqual(JSON.parse(JSON.stringify(parsedProto(pkg).toJSON())), schemaJson(pkg));
  }
});

test('the types built from the schema JSON are those of the .proto: fields, ids, types, options, enums, methods', () => {
  const both = new protobuf.Root();
  both.loadSync(CRI_PACKAGES.map((p) => join(packageRoot(), protoFileOf(p))), { keepCase: false });
  both.resolveAll();
  assert.deepEqual(JSON.parse(JSON.stringify(criRoot().toJSON())), JSON.parse(JSON.stringify(both.toJSON())));
  // toJSON leaves out what the parser infers from `syntax = "proto3"`: field presence and packed
  // repeated scalars, which decide the bytes critap encodes (replay answers). They must agree too.
  let fields = 0;
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type) {
        const ours = lookupType(o.fullName);
        for (const f of o.fieldsArray) {
          fields++;
          const g = ours.fields[f.name]!;
          assert.deepEqual([g.hasPresence, g.packed, g.optional, g.repeated, g.map], [f.hasPresence, f.packed, f.optional, f.repeated, f.map], `${o.fullName}.${f.name}`);
        }
      }
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) walk(o);
    }
  };
  walk(both);
  assert.ok(fields > 700, `walked ${fields} fields`);
});

test('the method table read from the JSON equals the one protobuf.js resolves from the .proto', () => {
  const expected = [];
  for (const pkg of CRI_PACKAGES) {
    const r = parsedProto(pkg);
    for (const service of ['RuntimeService', 'ImageService']) {
      for (const m of r.lookupService(`${pkg}.${service}`).methodsArray) {
        m.resolve();
        expected.push({
          path: `/${pkg}.${service}/${m.name}`,
          pkg,
          service,
          name: m.name,
          requestType: m.resolvedRequestType!.fullName.slice(1),
          responseType: m.resolvedResponseType!.fullName.slice(1),
          serverStreaming: m.responseStream === true,
        });
      }
    }
  }
  assert.ok(expected.length > 60, 'both packages walked');
  assert.deepEqual(allMethods().map((m) => ({ ...m })), expected);
});

test('a type of either package can be looked up first: the second package joins the same Root', () => {
  // The other tests in this file already built both; a child process starts from nothing.
  const script = `
    const { lookupType, criRoot } = await import(${JSON.stringify(new URL('../../src/cri/schema.js', import.meta.url).href)});
    const a = lookupType('runtime.v1alpha2.VersionRequest');
    const b = lookupType('runtime.v1.VersionRequest');
    const root = criRoot();
    if (a.root !== root || b.root !== root) throw new Error('two Roots');
    if (root.lookupType('runtime.v1alpha2.VersionRequest') !== a) throw new Error('v1alpha2 rebuilt');
    const t = lookupType('runtime.v1alpha2.ListContainersResponse');
    const bytes = t.encode(t.fromObject({ containers: [{ id: 'c1', state: 1 }] })).finish();
    process.stdout.write(JSON.stringify(t.toObject(t.decode(bytes), { enums: String })));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { containers: [{ id: 'c1', state: 'CONTAINER_RUNNING' }] });
});
