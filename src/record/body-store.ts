/**
 * Large bodies, stored beside LevelDB: one file per body in `bodies/` of the recording.
 *
 * LevelDB copies a value whole several times while writing it (its batch, the memtable, the
 * table builder's block and its compressed form, compactions), so multi-MiB values cost several
 * times their size in memory. A body from SPOOL_FROM_BYTES on instead reaches the recorder in
 * parts while its call is still running (CallSink.onBodyPart); each part is appended to the
 * body's file as it arrives, and the call's value in LevelDB names the file (call-codec.ts,
 * value format 2). No thread ever holds such a body whole, and the capture budget bounds the
 * parts in flight rather than whole bodies.
 *
 * A file is written before the call that names it, and removed after the call that named it:
 * a crash can leave a file no call names (never a call without its body); the next writer to
 * open the recording removes such files (orphan-bodies.ts).
 */
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { SecretMemory } from './secret-memory.js';

export const BODIES_DIR = 'bodies';
/** Secret scrubbing reads a body file this much at a time (plus an overlap). */
const SCRUB_WINDOW = 1024 * 1024;
/** Names this module writes: nothing that could leave bodies/. */
const BODY_FILE_NAME = /^[0-9a-f]{12}-\d{1,15}\.body$/;

/** A body file is missing, unreadable or not the length its call says. */
export class BodyFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

interface OpenBody {
  file: string;
  fd: number;
  written: number;
  /** Why this body could not be stored (its parts are then thrown away as they come). */
  failed?: string;
}

/** The writing side: bodies being received in parts, each appended to its own file. */
export class BodySpool {
  private readonly open = new Map<number, OpenBody>();
  /** Spool ids restart with each proxy process; this keeps the file names of sessions apart. */
  private readonly session = randomBytes(6).toString('hex');
  private readonly folder: string;
  private madeFolder = false;

  /** `dir`: the recording's folder. */
  constructor(readonly dir: string) {
    this.folder = join(dir, BODIES_DIR);
  }

  /** Bodies begun and neither finished nor aborted. */
  get openBodies(): number {
    return this.open.size;
  }

  /** Appends one part of body `id` (the first part creates its file). */
  append(id: number, part: Buffer): void {
    let body = this.open.get(id);
    if (!body) {
      body = { file: `${this.session}-${id}.body`, fd: -1, written: 0 };
      this.open.set(id, body);
      try {
        if (!this.madeFolder) {
          mkdirSync(this.folder, { recursive: true });
          this.madeFolder = true;
        }
        body.fd = openSync(join(this.folder, body.file), 'wx');
      } catch (err) {
        body.failed = (err as Error).message;
      }
    }
    if (body.failed !== undefined) return;
    try {
      let at = 0;
      while (at < part.length) at += writeSync(body.fd, part, at, part.length - at);
      body.written += part.length;
    } catch (err) {
      body.failed = (err as Error).message;
      this.discard(body);
    }
  }

  /**
   * The call naming body `id` ended: its file name once all `length` bytes are in it, or why
   * not (the file is then removed).
   */
  finish(id: number, length: number): { file: string } | { error: string } {
    const body = this.open.get(id);
    this.open.delete(id);
    if (!body) return { error: 'none of its parts reached the recorder' };
    if (body.failed === undefined && body.written !== length) body.failed = `${body.written} of its ${length} bytes reached the recorder`;
    if (body.failed !== undefined) {
      this.discard(body);
      return { error: body.failed };
    }
    closeSync(body.fd);
    return { file: body.file };
  }

  /** Body `id` will never be finished: its file goes. */
  abort(id: number): void {
    const body = this.open.get(id);
    if (!body) return;
    this.open.delete(id);
    this.discard(body);
  }

  /** Closing the recording: bodies still open belong to calls that will never be stored. */
  abortAll(): void {
    for (const id of [...this.open.keys()]) this.abort(id);
  }

  private discard(body: OpenBody): void {
    if (body.fd >= 0) {
      try {
        closeSync(body.fd);
      } catch {
        // already closed
      }
      body.fd = -1;
      try {
        unlinkSync(join(this.folder, body.file));
      } catch {
        // never created, or gone already
      }
    }
  }
}

/** Whether `name` is one this module writes (nothing else in bodies/ is ever removed). */
export function isBodyFileName(name: string): boolean {
  return BODY_FILE_NAME.test(name);
}

function checkedPath(dir: string, file: string): string {
  if (!BODY_FILE_NAME.test(file)) throw new BodyFileError(file, `names a body file ${JSON.stringify(file)} that critap does not write`);
  return join(dir, BODIES_DIR, file);
}

/** Reads a stored body whole, checking its length against the call's. */
export function readBodyFile(dir: string, file: string, length: number): Buffer {
  const path = checkedPath(dir, file);
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BodyFileError(file, `its body file ${BODIES_DIR}/${file} is missing`);
    throw new BodyFileError(file, `its body file ${BODIES_DIR}/${file} does not read (${(err as Error).message})`);
  }
  if (data.length !== length) {
    throw new BodyFileError(file, `its body file ${BODIES_DIR}/${file} holds ${data.length} bytes, not the ${length} the call says`);
  }
  return data;
}

/**
 * The last few body files read, by name (below RECENT_FILE_BYTES: a spooled body of many MiB is
 * read each time, not kept). A file named by a stored call never changes. Each read gets bytes
 * of its own (a copy), as from readBodyFile.
 */
export class RecentBodyFiles {
  private readonly names: string[] = [];
  private readonly data: Buffer[] = [];
  private next = 0;

  read(dir: string, file: string, length: number): Buffer {
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] === file && this.data[i]!.length === length) return Buffer.from(this.data[i]!);
    }
    const data = readBodyFile(dir, file, length);
    if (length < RECENT_FILE_BYTES) {
      this.names[this.next] = file;
      this.data[this.next] = Buffer.from(data);
      this.next = (this.next + 1) % RECENT_FILES;
    }
    return data;
  }
}
const RECENT_FILES = 8;
const RECENT_FILE_BYTES = 1024 * 1024;

/** Removes body files of calls that are gone (retention); a file already missing is no error. */
export async function removeBodyFiles(dir: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    try {
      await unlink(checkedPath(dir, file));
    } catch {
      // missing already, or a name we do not write: nothing of ours to remove
    }
  }
}

/** Removes one body file the recording will not name (its call was dropped or stored without it). */
export function removeBodyFileNow(dir: string, file: string): void {
  try {
    unlinkSync(checkedPath(dir, file));
  } catch {
    // gone already
  }
}

/**
 * Overwrites every remembered secret in a stored body, in place (SecretMemory.scrub keeps
 * lengths), reading a window at a time so the body is never held whole. Windows overlap by the
 * longest remembered value less one byte, so a value across a window edge is still found.
 * Returns whether anything was overwritten.
 */
export function scrubBodyFile(dir: string, file: string, secrets: SecretMemory): boolean {
  if (secrets.size === 0) return false;
  const fd = openSync(checkedPath(dir, file), 'r+');
  try {
    const size = fstatSync(fd).size;
    const overlap = Math.max(0, secrets.longest - 1);
    const buf = Buffer.allocUnsafe(SCRUB_WINDOW + overlap);
    let changed = false;
    for (let pos = 0; pos < size; pos += SCRUB_WINDOW) {
      const n = Math.min(buf.length, size - pos);
      let have = 0;
      while (have < n) {
        const got = readSync(fd, buf, have, n - have, pos + have);
        if (got === 0) break;
        have += got;
      }
      const clean = secrets.scrub(buf.subarray(0, have));
      if (clean) {
        writeSync(fd, clean, 0, have, pos);
        changed = true;
      }
      if (pos + n >= size) break;
    }
    return changed;
  } finally {
    closeSync(fd);
  }
}
