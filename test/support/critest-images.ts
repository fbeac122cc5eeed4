/**
 * The images critest v1.26 needs, built from busybox-static (image.ts) with no download: it
 * pulls `<registry-prefix>/<path>` from the local registry and creates some containers from
 * the images' original names, which must already be in the runtime's store. Specs that check
 * image ids, sizes or digests of the real images fail with these, directly as well; the point
 * is the comparison of a direct run with a run through critap on identical images.
 */
import { execFileSync } from 'node:child_process';
import { pushArchive } from './registry.js';
import { writeBusyboxImage, type DockerArchive, type ImageSpec } from './image.js';

/** Users and groups the user/group specs look up in the image (uid 1000 `user` in group 50000, www-data, users). */
const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'www-data:x:33:33:www-data:/var/www:/bin/sh',
  'user:x:1000:1000:user:/home/user:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
  '',
].join('\n');
const GROUP = ['root:x:0:', 'www-data:x:33:', 'users:x:100:', 'user:x:1000:', 'group50000:x:50000:user', 'nogroup:x:65534:', ''].join('\n');

export interface CritestImage {
  /** Content key: images with the same key are one archive pushed under several names. */
  key: string;
  spec: Omit<ImageSpec, 'tag'>;
  /** Paths under the registry prefix, `name:tag`. */
  paths: string[];
  /** Full names critest uses without pulling: put straight into the runtime's store. */
  originals: string[];
}

let allApplets: string[] | undefined;
/** Every applet of the static busybox: critest runs `top`, `pgrep`, `nslookup`, … in its containers. */
function applets(): string[] {
  allApplets ??= execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return allApplets;
}

function httpd(port: number): Omit<ImageSpec, 'tag'> {
  return { cmd: ['httpd', '-f', '-p', String(port), '-h', '/www'], files: { 'www/index.html': 'critest web server\n' } };
}

export function critestImages(): CritestImage[] {
  const base = { applets: applets(), files: { 'etc/passwd': PASSWD, 'etc/group': GROUP } };
  const img = (key: string, spec: Omit<ImageSpec, 'tag'>, paths: string[], originals: string[] = []): CritestImage => ({
    key,
    spec: { ...base, ...spec, files: { ...base.files, ...spec.files } },
    paths,
    originals,
  });
  const staging = 'k8s-staging-cri-tools';
  return [
    img('busybox', { cmd: ['sh'] }, ['e2e-test-images/busybox:1.29-2', 'e2e-test-images/busybox:latest'], ['registry.k8s.io/e2e-test-images/busybox:1.29-2']),
    img('nginx', httpd(80), ['e2e-test-images/nginx:1.14-2', 'e2e-test-images/nginx:latest'], ['registry.k8s.io/e2e-test-images/nginx:1.14-2']),
    img('httpd', httpd(80), ['e2e-test-images/httpd:2.4.39-4', 'e2e-test-images/httpd:latest'], ['registry.k8s.io/e2e-test-images/httpd:2.4.39-4']),
    img('nonewprivs', { cmd: ['sh', '-c', 'grep NoNewPrivs /proc/self/status'] }, ['e2e-test-images/nonewprivs:1.3', 'e2e-test-images/nonewprivs:latest'], ['registry.k8s.io/e2e-test-images/nonewprivs:1.3']),
    img('hostnet-nginx', httpd(12003), [`${staging}/hostnet-nginx-amd64:latest`], [`gcr.io/${staging}/hostnet-nginx-amd64:latest`]),
    img('pause', { cmd: ['sleep', '2147483647'] }, ['pause:3.9']),
    // Three different images (the list specs tell them apart by id), one marker each.
    ...[1, 2, 3].map((n) => img(`test-image-${n}`, { cmd: ['sh'], files: { marker: `test-image-${n}\n` } }, [`${staging}/test-image-${n}:latest`])),
    img('test-image-tags', { cmd: ['sh'], files: { marker: 'test-image-tags\n' } }, ['1', '2', '3', 'latest'].map((t) => `${staging}/test-image-tags:${t}`)),
    img('test-image-tag', { cmd: ['sh'], files: { marker: 'test-image-tag\n' } }, ['test', 'all', 'latest'].map((t) => `${staging}/test-image-tag:${t}`)),
    img('test-image-latest', { cmd: ['sh'], files: { marker: 'test-image-latest\n' } }, [`${staging}/test-image-latest:latest`]),
    img('test-image-digest', { cmd: ['sh'], files: { marker: 'test-image-digest\n' } }, [`${staging}/test-image-digest:latest`]),
    img('user-uid', { cmd: ['sh'], user: '1002' }, [`${staging}/test-image-user-uid:latest`]),
    img('user-username', { cmd: ['sh'], user: 'www-data' }, [`${staging}/test-image-user-username:latest`]),
    img('user-uid-group', { cmd: ['sh'], user: '1003:users' }, [`${staging}/test-image-user-uid-group:latest`]),
    img('user-username-group', { cmd: ['sh'], user: 'www-data:users' }, [`${staging}/test-image-user-username-group:latest`]),
    img('predefined-group', { cmd: ['sh'], user: '1000' }, [`${staging}/test-image-predefined-group:latest`]),
  ];
}

/** How a runtime's own store takes an image under a given name without a pull. */
export interface ImageStore {
  importArchive(archive: DockerArchive): Promise<void>;
}

/** Builds every image, pushes each under its names to `registry` (`127.0.0.1:port`), and imports the originals into `store`. */
export async function prepareCritestImages(tmpDir: string, registry: string, store: ImageStore): Promise<void> {
  for (const image of critestImages()) {
    const pushed = await writeBusyboxImage(tmpDir, `critest-${image.key}.tar`, { ...image.spec, tag: `${registry}/${image.paths[0]}` });
    await Promise.all(image.paths.map((p) => pushArchive(pushed.path, `${registry}/${p}`, tmpDir)));
    for (const original of image.originals) {
      await store.importArchive(await writeBusyboxImage(tmpDir, `critest-${image.key}-original.tar`, { ...image.spec, tag: original }));
    }
  }
}
