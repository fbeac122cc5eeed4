import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { VERSION } from '../version.js';
import { RecordingError } from './errors.js';

/** The file whose presence makes a folder a recording. */
export const MANIFEST_FILE = 'critap-recording.json';
export const FORMAT_NAME = 'critap-recording';
/**
 * Bump when a reader of the previous version could misread the folder.
 *  1: calls in LevelDB (db/), bodies inside their values.
 *  2: large bodies may be in files of their own (bodies/, see body-store.ts), named by the value.
 *  3: values may be of value format 3, a binary header (call-codec.ts, binary-value.ts).
 *  4: values may be of value format 4, large bodies packed with brotli (packed-bodies.ts).
 *  5: a body file may be named by several calls (a repeated body kept once, repeated-bodies.ts;
 *     counted in f-entries, shared-files.ts) and may hold a packed body.
 * Every version up to this one is read; writing to an older recording upgrades its manifest.
 */
export const FORMAT_VERSION = 5;

export interface Manifest {
  format: typeof FORMAT_NAME;
  version: number;
  createdAt: string;
  createdBy: string;
  /** The node the recording was made on (absent in recordings made before critap wrote it). */
  host?: string;
  /** Which critap raised the version of a recording made by an older one (to append to it). */
  upgradedBy?: string;
}

export type ManifestState =
  | { kind: 'missing-folder' }
  | { kind: 'not-recording'; empty: boolean }
  | { kind: 'ok'; manifest: Manifest };

/**
 * Reads and checks the manifest. Never writes: a reader must leave a damaged folder as it found it.
 * Throws RecordingError for a damaged or newer recording; returns a state for the other cases,
 * because createRecording treats "missing" and "empty" as "make one here".
 */
export async function inspectFolder(dir: string): Promise<ManifestState> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new RecordingError(dir, `${dir} is a file, not a recording folder`);
  } catch (err) {
    if (err instanceof RecordingError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing-folder' };
    throw new RecordingError(dir, `cannot read ${dir}: ${(err as Error).message}`, { cause: err });
  }
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const entries = await readdir(dir).catch(() => []);
      return { kind: 'not-recording', empty: entries.length === 0 };
    }
    throw new RecordingError(dir, `cannot read ${join(dir, MANIFEST_FILE)}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new RecordingError(dir, `recording ${dir} is damaged: ${MANIFEST_FILE} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const m = parsed as Partial<Manifest> | null;
  if (typeof m !== 'object' || m === null || Array.isArray(m) || m.format !== FORMAT_NAME) {
    throw new RecordingError(dir, `${dir} is not a critap recording: ${MANIFEST_FILE} does not say "format": "${FORMAT_NAME}"`);
  }
  if (typeof m.version !== 'number' || !Number.isInteger(m.version) || m.version < 1) {
    throw new RecordingError(dir, `recording ${dir} is damaged: ${MANIFEST_FILE} has no valid "version"`);
  }
  if (m.version > FORMAT_VERSION) {
    throw new RecordingError(
      dir,
      `recording ${dir} uses format version ${m.version} (written by ${printable(String(m.createdBy ?? 'a newer critap'))}); ` +
        `critap ${VERSION} reads up to version ${FORMAT_VERSION}: upgrade critap to read it`,
    );
  }
  return { kind: 'ok', manifest: m as Manifest };
}

/** A manifest's own text in a message: one line, no control characters, not a novel. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

/** Writes the manifest atomically (temp file + rename) so a crash never leaves half a manifest. */
export async function writeManifest(dir: string): Promise<Manifest> {
  const manifest: Manifest = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    createdBy: `critap ${VERSION}`,
    host: hostname(),
  };
  await mkdir(dir, { recursive: true });
  await replaceManifest(dir, manifest);
  return manifest;
}

/**
 * Before appending to a recording of an older format version: the manifest then says the current
 * one (what is appended may use it), keeping when, by whom and where the recording was made.
 */
export async function upgradeManifest(dir: string, old: Manifest): Promise<Manifest> {
  if (old.version >= FORMAT_VERSION) return old;
  const manifest: Manifest = { ...old, version: FORMAT_VERSION, upgradedBy: `critap ${VERSION}` };
  await replaceManifest(dir, manifest);
  return manifest;
}

async function replaceManifest(dir: string, manifest: Manifest): Promise<void> {
  const tmp = join(dir, `.${MANIFEST_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n');
  await rename(tmp, join(dir, MANIFEST_FILE));
}
