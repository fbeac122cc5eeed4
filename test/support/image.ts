/**
 * Builds small, real OCI-compatible images without any registry: a docker-archive
 * tarball (what `docker save` writes) holding one layer made of the statically linked
 * /bin/busybox (Debian's busybox-static) plus applet symlinks. `ctr images import`
 * and `skopeo copy docker-archive:` both accept it.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXED_MTIME, tarArchive, type TarEntry } from './tar.js';

/** Applets the e2e tests rely on (shells, sleeping, printing, serving HTTP). */
export const BUSYBOX_APPLETS = [
  'sh', 'sleep', 'echo', 'cat', 'env', 'ls', 'httpd', 'true', 'false', 'printf', 'id', 'hostname',
  'ps', 'kill', 'mkdir', 'rm', 'touch', 'head', 'tail', 'grep', 'wc', 'date', 'uname', 'wget', 'nc', 'test',
] as const;

export const DEFAULT_BUSYBOX = '/bin/busybox';

export interface ImageSpec {
  /** RepoTags entry, e.g. '127.0.0.1:5000/critap/busybox:1'; a domain-less name gets docker.io/ on import. */
  tag: string;
  cmd?: string[];
  entrypoint?: string[];
  /** Where to find the static busybox binary; defaults to /bin/busybox. */
  busyboxPath?: string;
  /** Applet links in /bin; default BUSYBOX_APPLETS. */
  applets?: readonly string[];
  /** The config's User (`uid`, `name`, `uid:group`, …), for images whose specs check who runs. */
  user?: string;
  /** Files of the layer by path (`etc/passwd`, `www/index.html`, `marker`): replace the default ones or add to them, in existing folders. */
  files?: Record<string, string | Buffer>;
}

export interface DockerArchive {
  /** Path of the written tarball. */
  path: string;
  tag: string;
  /** 'sha256:…' of the config JSON: the image id. */
  configDigest: string;
  /** 'sha256:…' of the uncompressed layer tar, as listed in rootfs.diff_ids. */
  layerDiffId: string;
}

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The single layer: a minimal root filesystem around busybox. Same input, same bytes. */
export function busyboxLayer(busybox: Buffer, files: Record<string, string | Buffer> = {}, applets: readonly string[] = BUSYBOX_APPLETS): Buffer {
  const base: TarEntry[] = [
    { type: 'dir', name: 'bin', mode: 0o755 },
    { type: 'file', name: 'bin/busybox', mode: 0o755, data: busybox },
    ...[...new Set(applets)].filter((a) => a !== 'busybox').map((a): TarEntry => ({ type: 'symlink', name: `bin/${a}`, target: 'busybox' })),
    // Mount points and files runc and the tests expect to exist in a root filesystem.
    { type: 'dir', name: 'dev', mode: 0o755 },
    { type: 'dir', name: 'etc', mode: 0o755 },
    { type: 'file', name: 'etc/passwd', mode: 0o644, data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n') },
    { type: 'file', name: 'etc/group', mode: 0o644, data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
    { type: 'dir', name: 'proc', mode: 0o755 },
    { type: 'dir', name: 'root', mode: 0o700 },
    { type: 'dir', name: 'sys', mode: 0o755 },
    { type: 'dir', name: 'tmp', mode: 0o1777 },
    { type: 'dir', name: 'var', mode: 0o755 },
    { type: 'dir', name: 'www', mode: 0o755 },
  ];
  const extra = Object.entries(files).map(([name, data]): TarEntry => ({ type: 'file', name, mode: 0o644, data: Buffer.from(data) }));
  const entries = [...base.filter((e) => !(e.name in files)), ...extra];
  return tarArchive(entries);
}

export function imageConfig(spec: ImageSpec, layerDiffId: string): Buffer {
  const created = new Date(FIXED_MTIME * 1000).toISOString();
  const config = {
    architecture: 'amd64',
    os: 'linux',
    created,
    config: {
      Env: [PATH_ENV],
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      ...(spec.user ? { User: spec.user } : {}),
      Cmd: spec.cmd ?? ['sh'],
      WorkingDir: '/',
    },
    rootfs: { type: 'layers', diff_ids: [layerDiffId] },
    history: [{ created, created_by: 'critap test/support/image.ts: busybox-static layer' }],
  };
  return Buffer.from(JSON.stringify(config));
}

/** Writes `<dir>/<fileName>` as a docker-archive tarball and describes it. */
export async function writeBusyboxImage(dir: string, fileName: string, spec: ImageSpec): Promise<DockerArchive> {
  const busyboxPath = spec.busyboxPath ?? DEFAULT_BUSYBOX;
  let busybox: Buffer;
  try {
    busybox = await readFile(busyboxPath);
  } catch (err) {
    throw new Error(`critap: cannot read ${busyboxPath} (install busybox-static): ${(err as Error).message}`);
  }
  const layer = busyboxLayer(busybox, spec.files, spec.applets);
  const layerHex = sha256(layer);
  const config = imageConfig(spec, `sha256:${layerHex}`);
  const configHex = sha256(config);
  const manifest = [{ Config: `${configHex}.json`, RepoTags: [spec.tag], Layers: [`${layerHex}/layer.tar`] }];
  const archive = tarArchive([
    { type: 'dir', name: layerHex, mode: 0o755 },
    { type: 'file', name: `${layerHex}/layer.tar`, mode: 0o644, data: layer },
    { type: 'file', name: `${configHex}.json`, mode: 0o644, data: config },
    { type: 'file', name: 'manifest.json', mode: 0o644, data: Buffer.from(JSON.stringify(manifest)) },
  ]);
  const path = join(dir, fileName);
  await writeFile(path, archive);
  return { path, tag: spec.tag, configDigest: `sha256:${configHex}`, layerDiffId: `sha256:${layerHex}` };
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
