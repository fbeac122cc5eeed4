/**
 * The two local registries every real-runtime instance gets: an open one holding the busybox test
 * image (and whatever else the runtime must pull, e.g. CRI-O's pause image), and an htpasswd one
 * holding the same image, for which the runtime has no credentials (PullImage must send them).
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeBusyboxImage, type ImageSpec } from './image.js';
import { pushArchive, startRegistry, type RunningRegistry } from './registry.js';

export const TEST_IMAGE_PATH = 'critap/busybox:1';

export interface TestRegistries {
  registry: { address: string; image: string };
  authRegistry: { address: string; image: string; username: string; password: string };
  /** Full references of `extraImages`, in order, on the open registry. */
  extra: string[];
  processes: RunningRegistry[];
}

/**
 * Starts both under `<dir>/registry` and `<dir>/registry-auth` and pushes the images; `extraImages`
 * are pushed to the open registry under their `tag` (a path such as 'critap/pause:1').
 * On failure the registries already started are left for the instance cleanup to kill.
 */
export async function startTestRegistries(dir: string, tmp: string, extraImages: ImageSpec[] = [], onStarted?: (r: RunningRegistry) => void): Promise<TestRegistries> {
  const auth = { username: 'critap', password: randomBytes(12).toString('hex') };
  await Promise.all(['registry', 'registry-auth'].map((d) => mkdir(join(dir, d), { recursive: true })));
  const start = async (sub: string, withAuth?: typeof auth) => {
    const r = await startRegistry(join(dir, sub), withAuth);
    onStarted?.(r);
    return r;
  };
  const [busyboxTar, open, locked, ...extraTars] = await Promise.all([
    writeBusyboxImage(tmp, 'busybox.tar', { tag: TEST_IMAGE_PATH, cmd: ['sh'] }),
    start('registry'),
    start('registry-auth', auth),
    ...extraImages.map((spec, i) => writeBusyboxImage(tmp, `extra-${i}.tar`, spec)),
  ] as const);
  const image = `${open.address}/${TEST_IMAGE_PATH}`;
  const authImage = `${locked.address}/${TEST_IMAGE_PATH}`;
  const extra = extraImages.map((spec) => `${open.address}/${spec.tag}`);
  await Promise.all([
    pushArchive(busyboxTar.path, image, tmp),
    pushArchive(busyboxTar.path, authImage, tmp, auth),
    ...extraTars.map((tar, i) => pushArchive(tar.path, extra[i]!, tmp)),
  ]);
  return {
    registry: { address: open.address, image },
    authRegistry: { address: locked.address, image: authImage, ...auth },
    extra,
    processes: [open, locked],
  };
}
