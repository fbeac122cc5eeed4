// The method table is built a package at a time, on the first lookup of one of its paths. A
// lookup must find the method whatever was looked up before, unknown paths must stay unknown,
// and allMethods keeps its order (newest package first, schema order) whichever package came first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allMethods, lookupMethod } from '../../src/cri/methods.js';
import { CRI_PACKAGES, packageNode } from '../../src/cri/schema-files.js';

test('lookups build their package on demand; allMethods keeps package and schema order', () => {
  // The older package first: this process has built nothing yet.
  const old = lookupMethod('/runtime.v1alpha2.RuntimeService/Version');
  assert.equal(old?.pkg, 'runtime.v1alpha2');
  assert.equal(old?.requestType, 'runtime.v1alpha2.VersionRequest');
  assert.equal(lookupMethod('/runtime.v1alpha2.RuntimeService/NoSuchMethod'), undefined);
  assert.equal(lookupMethod('/other.Service/Version'), undefined);
  assert.equal(lookupMethod('/runtime.v1.RuntimeService/Version')?.pkg, 'runtime.v1');
  assert.equal(lookupMethod('/runtime.v1.ImageService/PullImage')?.responseType, 'runtime.v1.PullImageResponse');

  const expected = CRI_PACKAGES.flatMap((pkg) => {
    const ns = packageNode(pkg);
    return ['RuntimeService', 'ImageService'].flatMap((service) => Object.keys(ns.nested![service]!.methods!).map((name) => `/${pkg}.${service}/${name}`));
  });
  assert.deepEqual(allMethods().map((m) => m.path), expected);
  assert.equal(allMethods()[0]!.pkg, 'runtime.v1');
  for (const path of expected) assert.equal(lookupMethod(path)?.path, path);
});
