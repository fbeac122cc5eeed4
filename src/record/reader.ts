import { decodeCallValue, ValueDecodeError } from './call-codec.js';
import { BodyFileError, RecentBodyFiles } from './body-store.js';
import { RecordingError } from './errors.js';
import { CALL_END, CALL_PREFIX, callKeyFrom, callKeyOfIndex, indexRange, type IndexKind } from './keys.js';
import { inspectFolder, MANIFEST_FILE, type Manifest } from './manifest.js';
import { methodMatches } from './method-filter.js';
import type { StoredCall } from './stored-call.js';
import { Store, type Counters } from './store.js';

export interface CallFilter {
  /** Full path, Service/Method or bare method name. */
  method?: string;
  /** Pod name, namespace/name, pod UID, or (a prefix of) a sandbox id; includes the pod's containers' calls. */
  pod?: string;
  /** Container id (or a unique-enough prefix) or container name. */
  container?: string;
  /** Only calls that started at or after this time (ns since the epoch). */
  sinceNs?: bigint;
  /** Only calls that started at or before this time (ns since the epoch). */
  untilNs?: bigint;
  limit?: number;
}

export interface RecordingInfo {
  calls: number;
  /** Bytes of stored call values. */
  bytes: number;
  firstStartNs?: bigint;
  lastStartNs?: bigint;
  methods: Record<string, number>;
  recorded: number;
  dropped: number;
  redacted: number;
  evicted: number;
}

/** Values are fetched this many at a time when following an index. */
const FETCH_CHUNK = 256;

export interface OpenOptions {
  /**
   * Read a recording known to have lost calls (see damage.ts) instead of refusing it; what was
   * lost is then in `damage`. Calls that are there read as usual.
   */
  salvage?: boolean;
  /** With `salvage`: told of each call found, while reading, to have lost a body file (it is read without it). */
  onLostBody?: (message: string) => void;
}

export class RecordingReader {
  constructor(
    private readonly store: Store,
    /** What critap-recording.json says: when, by which critap, on which node. */
    readonly manifest?: Manifest,
    private readonly options: OpenOptions = {},
  ) {}

  /** Calls read so far whose body file was missing or cut short (with `salvage`: read without that body). */
  private lostBodies: string[] = [];

  /** With `salvage`: why this recording is incomplete; undefined for a whole recording. */
  get damage(): string | undefined {
    if (this.lostBodies.length === 0) return this.store.damage;
    const shown = this.lostBodies.slice(0, 3).join('; ');
    const more = this.lostBodies.length > 3 ? `; and ${this.lostBodies.length - 3} more` : '';
    const bodies = `recording ${this.dir} is damaged: ${this.lostBodies.length} call(s) lost a body (${shown}${more}); they are read without it, marked truncated`;
    return this.store.damage ? `${this.store.damage}; ${bodies}` : bodies;
  }

  get dir(): string {
    return this.store.dir;
  }

  /**
   * A repeated body's file (repeated-bodies.ts) is named by thousands of calls in a row; reading
   * it again each time was most of the system time of `export` on a long recording. Kept by name
   * and length: a body file never changes once a stored call names it.
   */
  private readonly recentFiles = new RecentBodyFiles();
  private readonly readFile = (file: string, length: number): Buffer => this.recentFiles.read(this.dir, file, length);

  private decode(key: string, value: Buffer): StoredCall {
    try {
      return decodeCallValue(key, value, this.readFile);
    } catch (err) {
      if (err instanceof BodyFileError) {
        if (this.options.salvage) return this.withoutLostBodies(key, value, err);
        throw new RecordingError(
          this.dir,
          `recording ${this.dir} is damaged: call ${key} lost a body: ${err.message} (--salvage reads the recording with that call marked truncated)`,
          { cause: err },
        );
      }
      if (err instanceof ValueDecodeError) {
        throw new RecordingError(this.dir, `recording ${this.dir} is damaged: entry ${key} does not decode (${err.message})`, { cause: err });
      }
      throw err;
    }
  }

  /** Salvage: the call with every body it keeps in a missing or short file left empty, marked truncated. */
  private withoutLostBodies(key: string, value: Buffer, first: BodyFileError): StoredCall {
    const lost: string[] = [first.message];
    const call = decodeCallValue(key, value, (file, length) => {
      try {
        return this.readFile(file, length);
      } catch (err) {
        if (!(err instanceof BodyFileError)) throw err;
        if (err.file !== first.file) lost.push(err.message);
        return Buffer.alloc(0);
      }
    });
    call.truncated = true;
    this.lostBodies.push(`${key}: ${lost.join(', ')}`);
    this.options.onLostBody?.(`recording ${this.dir} is damaged: call ${key} lost a body: ${lost.join(', ')}; read without it, marked truncated`);
    return call;
  }

  private wrapRead(err: unknown): never {
    if (err instanceof RecordingError) throw err;
    throw new RecordingError(this.dir, `recording ${this.dir} is damaged: reading LevelDB failed (${this.store.ownPaths((err as Error).message)})`, { cause: err });
  }

  async info(): Promise<RecordingInfo> {
    const c: Counters = this.store.counters;
    const info: RecordingInfo = {
      calls: c.calls,
      bytes: c.bytes,
      methods: { ...c.methods },
      recorded: c.recorded,
      dropped: c.dropped,
      redacted: c.redacted,
      evicted: c.evicted,
    };
    try {
      for await (const k of this.store.db.keys({ gte: CALL_PREFIX, lt: CALL_END, limit: 1 })) info.firstStartNs = this.decodeStart(k);
      for await (const k of this.store.db.keys({ gte: CALL_PREFIX, lt: CALL_END, limit: 1, reverse: true })) info.lastStartNs = this.decodeStart(k);
    } catch (err) {
      this.wrapRead(err);
    }
    return info;
  }

  private decodeStart(key: string): bigint {
    const m = /^c(\d{20})\./.exec(key);
    if (!m) throw new RecordingError(this.dir, `recording ${this.dir} is damaged: unexpected key ${JSON.stringify(key)}`);
    return BigInt(m[1]!);
  }

  /** Calls in start order. With --pod/--container, follows the index instead of scanning. */
  async *calls(filter: CallFilter = {}): AsyncGenerator<StoredCall> {
    const limit = filter.limit ?? Infinity;
    if (limit <= 0) return;
    let n = 0;
    const wanted = (c: StoredCall) => filter.method === undefined || methodMatches(filter.method, c.method);
    const after = (c: StoredCall) => filter.untilNs !== undefined && c.startNs > filter.untilNs;
    if (filter.pod === undefined && filter.container === undefined) {
      const gte = filter.sinceNs !== undefined ? callKeyFrom(filter.sinceNs) : CALL_PREFIX;
      try {
        for await (const [key, value] of this.store.db.iterator({ gte, lt: CALL_END })) {
          const call = this.decode(key, value);
          // Keys are in start order: the first call past --until ends the scan.
          if (after(call)) return;
          if (!wanted(call)) continue;
          yield call;
          if (++n >= limit) return;
        }
      } catch (err) {
        this.wrapRead(err);
      }
      return;
    }
    let keys: Set<string> | undefined;
    if (filter.pod !== undefined) keys = await this.podKeys(filter.pod);
    if (filter.container !== undefined) {
      const ck = await this.containerKeys(filter.container);
      keys = keys ? new Set([...keys].filter((k) => ck.has(k))) : ck;
    }
    const from = filter.sinceNs !== undefined ? callKeyFrom(filter.sinceNs) : '';
    const sorted = [...keys!].filter((k) => k >= from).sort();
    for (let i = 0; i < sorted.length; i += FETCH_CHUNK) {
      const chunk = sorted.slice(i, i + FETCH_CHUNK);
      for (const call of await this.fetch(chunk)) {
        if (after(call)) return;
        if (!wanted(call)) continue;
        yield call;
        if (++n >= limit) return;
      }
    }
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  /** Call keys from one index kind; `prefix` lets users type a short id, as crictl does. */
  private async indexKeys(kind: IndexKind, value: string, prefix: boolean): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const k of this.store.db.keys(indexRange(kind, value, prefix))) out.push(callKeyOfIndex(k));
    } catch (err) {
      this.wrapRead(err);
    }
    return out;
  }

  /** Calls by key; index entries left pointing at nothing (after a crash mid-eviction) are skipped. */
  private async fetch(keys: string[]): Promise<StoredCall[]> {
    let values: (Buffer | undefined)[];
    try {
      values = await this.store.db.getMany(keys);
    } catch (err) {
      this.wrapRead(err);
    }
    const out: StoredCall[] = [];
    values.forEach((v, i) => {
      if (v !== undefined) out.push(this.decode(keys[i]!, v));
    });
    return out;
  }

  private async fetchAll(keys: Iterable<string>): Promise<StoredCall[]> {
    const list = [...keys];
    const out: StoredCall[] = [];
    for (let i = 0; i < list.length; i += FETCH_CHUNK) out.push(...(await this.fetch(list.slice(i, i + FETCH_CHUNK))));
    return out;
  }

  /**
   * A pod's calls: the pod is found by name, uid or sandbox id; then every call naming one of
   * its sandboxes, then every call naming a container created in one of those sandboxes.
   */
  private async podKeys(pod: string): Promise<Set<string>> {
    const seeds = new Set<string>();
    for (const k of await this.indexKeys('p', pod, false)) seeds.add(k);
    for (const k of await this.indexKeys('u', pod, false)) seeds.add(k);
    for (const k of await this.indexKeys('s', pod, true)) seeds.add(k);
    const sandboxes = new Set<string>();
    for (const call of await this.fetchAll(seeds)) if (call.ids.podSandboxId) sandboxes.add(call.ids.podSandboxId);
    const keys = new Set(seeds);
    for (const s of sandboxes) for (const k of await this.indexKeys('s', s, false)) keys.add(k);
    const containers = new Set<string>();
    for (const call of await this.fetchAll(keys)) {
      if (call.ids.containerId && call.ids.podSandboxId && sandboxes.has(call.ids.podSandboxId)) containers.add(call.ids.containerId);
    }
    for (const c of containers) for (const k of await this.indexKeys('c', c, false)) keys.add(k);
    return keys;
  }

  private async containerKeys(container: string): Promise<Set<string>> {
    const keys = new Set<string>(await this.indexKeys('c', container, true));
    for (const k of await this.indexKeys('n', container, false)) keys.add(k);
    return keys;
  }
}

/**
 * Opens a recording to read. Checks the manifest first, creates and repairs nothing; every
 * problem is a RecordingError naming the folder.
 */
export async function openRecording(dir: string, options: OpenOptions = {}): Promise<RecordingReader> {
  const state = await inspectFolder(dir);
  if (state.kind === 'missing-folder') throw new RecordingError(dir, `recording ${dir} does not exist`);
  if (state.kind === 'not-recording') throw new RecordingError(dir, `${dir} is not a critap recording (no ${MANIFEST_FILE})`);
  const store = await Store.open(dir, 'read');
  if (store.damage && !options.salvage) {
    await store.close();
    throw new RecordingError(dir, store.damage);
  }
  return new RecordingReader(store, state.manifest, options);
}
