// decodeMessage reads bytes without protobuf.js (light-schema.ts, view-decoder.ts). Its views
// must be exactly protobuf.js's decode followed by messageToJson: here on generated messages of
// every CRI type (edge values included), on odd but valid encodings (repeats, merges, packed and
// unpacked, unknown fields and groups, wrong wire types), and on damaged bytes, where both throw
// or both give the same view. cri-decode-first.test.ts compares every shipped recording's messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { CodecError, decodeMessage } from '../../src/cri/codec.js';
import { messageToJson } from '../support/json-view-reference.js';
import { lightType } from '../../src/cri/light-schema.js';
import { CRI_PACKAGES, packageNode, packageRoot, protoFileOf } from '../../src/cri/schema-files.js';

const ref = new protobuf.Root();
ref.loadSync(CRI_PACKAGES.map((p) => join(packageRoot(), protoFileOf(p))), { keepCase: false });
ref.resolveAll();

type Json = Record<string, unknown>;

/** protobuf.js's view, or the fact that it threw. */
function expected(typeName: string, bytes: Buffer): Json | 'throws' {
  const type = ref.lookupType(typeName);
  try {
    return messageToJson(type, type.decode(bytes) as unknown as Json);
  } catch {
    return 'throws';
  }
}

function actual(typeName: string, bytes: Buffer): Json | 'throws' {
  try {
    return decodeMessage(typeName, bytes);
  } catch (err) {
    assert.ok(err instanceof CodecError, `a CodecError, not ${String(err)}`);
    return 'throws';
  }
}

function same(typeName: string, bytes: Buffer, what: string): void {
  assert.deepEqual(actual(typeName, bytes), expected(typeName, bytes), `${what}: ${typeName} ${bytes.toString('hex')}`);
}

/** A small deterministic PRNG, so a failure names bytes that can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ['', 'a', 'ünïcödé ✓', '0', '123', 'x'.repeat(200)];
const INT64S = ['0', '1', '-1', '9007199254740993', '-9223372036854775808', '9223372036854775807'];
const UINT64S = ['0', '1', '18446744073709551615', '9007199254740993'];
const INT32S = [0, 1, -1, 2147483647, -2147483648, 300];
const DOUBLES = [0, -0, 1.5, -2.25e300, Number.NaN, Infinity, -Infinity, 5e-324];
const MAP_KEYS = ['app', '', '10', '2', '__proto__', 'io.kubernetes.pod.name', 'constructor'];

function scalarValue(type: string, rnd: () => number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  switch (type) {
    case 'string': return pick(STRINGS);
    case 'bytes': return Buffer.from(pick(['', 'hello\n', '\u0000\u00ff\u0001', 'x'.repeat(70)]), 'latin1');
    case 'bool': return rnd() < 0.5;
    case 'int32': return pick(INT32S);
    case 'uint32': return pick([0, 1, 4294967295, 128]);
    case 'int64': return pick(INT64S);
    case 'uint64': return pick(UINT64S);
    case 'double': return pick(DOUBLES);
    default: throw new Error(`no generator for ${type}`);
  }
}

/** A message of `type` with every field set or left out at random, nested up to `depth`. */
function randomMessage(type: protobuf.Type, rnd: () => number, depth: number): Json {
  const out: Json = {};
  for (const field of type.fieldsArray) {
    if (rnd() < 0.3) continue;
    const resolved = field.resolve().resolvedType;
    const one = (): unknown => {
      if (resolved instanceof protobuf.Type) return depth > 0 ? randomMessage(resolved, rnd, depth - 1) : {};
      // Enums: a named value, or a number the schema does not name.
      if (resolved instanceof protobuf.Enum) return rnd() < 0.85 ? Object.values(resolved.values)[Math.floor(rnd() * Object.keys(resolved.values).length)] : 99;
      return scalarValue(field.type, rnd);
    };
    if (field instanceof protobuf.MapField) {
      const m: Json = {};
      for (let i = Math.floor(rnd() * 4); i > 0; i--) m[MAP_KEYS[Math.floor(rnd() * MAP_KEYS.length)]!] = one();
      out[field.name] = m;
    } else if (field.repeated) {
      out[field.name] = Array.from({ length: Math.floor(rnd() * 4) }, one);
    } else {
      out[field.name] = one();
    }
  }
  return out;
}

function messageTypes(): string[] {
  const names: string[] = [];
  const visit = (prefix: string, node: { nested?: Record<string, unknown> }) => {
    for (const [name, child] of Object.entries(node.nested ?? {})) {
      const c = child as { fields?: unknown; nested?: Record<string, unknown> };
      if (c.fields) names.push(`${prefix}.${name}`);
      if (c.nested) visit(`${prefix}.${name}`, c);
    }
  };
  for (const pkg of CRI_PACKAGES) visit(pkg, packageNode(pkg));
  return names;
}

test('generated messages of every CRI type decode to protobuf.js view, edge values included', () => {
  const rnd = prng(15);
  const types = messageTypes();
  assert.ok(types.length > 250, `${types.length} message types`);
  let checked = 0;
  for (const name of types) {
    const type = ref.lookupType(name);
    for (let i = 0; i < 6; i++) {
      const bytes = Buffer.from(type.encode(type.fromObject(randomMessage(type, rnd, 3))).finish());
      same(name, bytes, 'generated');
      checked++;
    }
  }
  assert.ok(checked > 1500);
});

/** Raw protobuf writing, for encodings protobuf.js's encoder never produces. */
const w = () => protobuf.Writer.create();
const bytesOf = (wr: protobuf.Writer) => Buffer.from(wr.finish());
const tag = (field: number, wire: number) => (field << 3) | wire;

test('odd but valid encodings read as protobuf.js reads them', () => {
  const cases: [string, Buffer][] = [
    // A scalar seen twice: the last wins; a default after a value clears it.
    ['runtime.v1.VersionRequest', bytesOf(w().uint32(tag(1, 2)).string('a').uint32(tag(1, 2)).string('b'))],
    ['runtime.v1.VersionRequest', bytesOf(w().uint32(tag(1, 2)).string('a').uint32(tag(1, 2)).string(''))],
    // A message field seen twice is merged (metadata.name from the first, attempt from the second).
    ['runtime.v1.ContainerConfig', bytesOf(w()
      .uint32(tag(1, 2)).fork().uint32(tag(1, 2)).string('app').ldelim()
      .uint32(tag(1, 2)).fork().uint32(tag(2, 0)).uint32(3).ldelim())],
    // 64-bit integers: seen twice, negative, the largest unsigned.
    ['runtime.v1.LinuxContainerResources', bytesOf(w().uint32(tag(1, 0)).int64(5).uint32(tag(1, 0)).int64(-7))],
    ['runtime.v1.Int64Value', bytesOf(w().uint32(tag(1, 0)).int64(-1))],
    ['runtime.v1.UInt64Value', bytesOf(w().uint32(tag(1, 0)).uint64('18446744073709551615'))],
    // A field with the wrong wire type is skipped like an unknown one.
    ['runtime.v1.VersionRequest', bytesOf(w().uint32(tag(1, 0)).uint32(7))],
    ['runtime.v1.ContainerStatusRequest', bytesOf(w().uint32(tag(2, 2)).string('x').uint32(tag(1, 2)).string('c1'))],
    // Unknown fields of every wire type, a group among them.
    ['runtime.v1.VersionRequest', bytesOf(w()
      .uint32(tag(9, 0)).uint64(1).uint32(tag(10, 1)).fixed64(2).uint32(tag(11, 5)).fixed32(3)
      .uint32(tag(12, 2)).string('skip').uint32(tag(13, 3)).uint32(tag(1, 0)).uint32(1).uint32(tag(13, 4))
      .uint32(tag(1, 2)).string('v'))],
    // Map entries: missing key or value, a repeated key (the last wins), a numeric key.
    ['runtime.v1.PodSandboxConfig', bytesOf(w()
      .uint32(tag(6, 2)).fork().uint32(tag(2, 2)).string('no key').ldelim()
      .uint32(tag(6, 2)).fork().uint32(tag(1, 2)).string('k').ldelim()
      .uint32(tag(6, 2)).fork().uint32(tag(1, 2)).string('k').uint32(tag(2, 2)).string('second').ldelim()
      .uint32(tag(6, 2)).fork().uint32(tag(2, 2)).string('v').uint32(tag(1, 2)).string('7').ldelim())],
    // An enum the schema does not name, and a negative one.
    ['runtime.v1.ContainerStateValue', bytesOf(w().uint32(tag(1, 0)).int32(42))],
    ['runtime.v1.ContainerStateValue', bytesOf(w().uint32(tag(1, 0)).int32(-3))],
    // An empty sub-message is still there ({}).
    ['runtime.v1.ContainerStatusResponse', bytesOf(w().uint32(tag(1, 2)).fork().ldelim())],
  ];
  for (const [typeName, bytes] of cases) same(typeName, bytes, 'odd');
  // Repeated numbers (PortForwardRequest.port, supplementalGroups): packed, then unpacked, then packed again.
  for (const [typeName, fieldName] of [['runtime.v1.PortForwardRequest', 'port'], ['runtime.v1.LinuxContainerUser', 'supplementalGroups']] as const) {
    const field = lightType(typeName).fields.find((f) => f.name === fieldName)!;
    assert.ok(field.repeated, `${typeName}.${fieldName} is repeated`);
    const bytes = bytesOf(w()
      .uint32(tag(field.id, 2)).fork().uint32(1).uint32(300).uint32(0).ldelim()
      .uint32(tag(field.id, 0)).uint32(5)
      .uint32(tag(field.id, 2)).fork().int64(-1).ldelim());
    same(typeName, bytes, 'packed and unpacked');
    assert.equal((decodeMessage(typeName, bytes)[fieldName] as unknown[]).length, 5);
  }
});

test('damaged bytes: both throw, or both give the same view', () => {
  const rnd = prng(4242);
  const names = ['runtime.v1.ListContainersResponse', 'runtime.v1.ContainerStatusResponse', 'runtime.v1.RunPodSandboxRequest', 'runtime.v1.ExecSyncResponse'];
  let throws = 0;
  for (const name of names) {
    const type = ref.lookupType(name);
    for (let i = 0; i < 150; i++) {
      const good = Buffer.from(type.encode(type.fromObject(randomMessage(type, rnd, 3))).finish());
      if (good.length === 0) continue;
      const bad = Buffer.from(good);
      const how = rnd();
      if (how < 0.4) bad[Math.floor(rnd() * bad.length)] ^= 1 << Math.floor(rnd() * 8);
      else if (how < 0.7) bad[Math.floor(rnd() * bad.length)] = Math.floor(rnd() * 256);
      const cut = how >= 0.7 ? bad.subarray(0, Math.floor(rnd() * bad.length)) : bad;
      const want = expected(name, cut);
      if (want === 'throws') throws++;
      assert.deepEqual(actual(name, cut), want, `damaged: ${name} ${cut.toString('hex')}`);
    }
  }
  assert.ok(throws > 20, `${throws} damaged messages threw`);
});

test('an unknown type is a CodecError naming it', () => {
  assert.throws(() => decodeMessage('runtime.v1.NoSuchMessage', Buffer.alloc(0)), (err: unknown) => err instanceof CodecError && /NoSuchMessage/.test(err.message));
  assert.throws(() => decodeMessage('runtime.v1.RuntimeService', Buffer.alloc(0)), CodecError);
});
