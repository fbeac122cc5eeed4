/**
 * What the recording says about life cycles: every sandbox, container and image it holds, where
 * each was in its life when each call was recorded, and the pieces replay needs to answer about
 * them later (the request that made each, its list items and statuses at each phase, the shape of
 * the runtime's NotFound). Built once when replay loads; pure (decoded JSON views in, no sockets).
 */
import {
  CREATIONS, TRANSITIONS, containerPhaseAfterSandbox, namedIds, namedImageRef, phaseKey, phaseOfContainerState,
  phaseOfSandboxState, STATS_LISTS, type EntityKind, type Phase,
} from './phases.js';

type Json = Record<string, unknown>;

/** One recorded call as the timeline reads it. `response` is decoded only when asked for. */
export interface TimelineInput {
  /** Method name without package and service: 'ContainerStatus'. */
  name: string;
  request: Json;
  response(): Json | undefined;
  code: number;
  message: string;
}

export interface RecordedEntity {
  kind: EntityKind;
  id: string;
  /** Containers: the sandbox they were created in. */
  sandboxId?: string;
  /** The RunPodSandbox / CreateContainer / PullImage request that made it (absent when it existed before the recording). */
  createRequest?: Json;
  /** The phase it was first seen in, when it existed before the recording began. */
  initialPhase?: Phase;
}

/** What one recorded call saw: the entities it names (by recorded id) and their phases then. */
export interface CallFacts {
  named: Array<{ kind: EntityKind; id: string; phase: Phase }>;
  /** phaseKey(named): the key the call is filed under. */
  key: string;
}

const STATUS_METHOD = { ContainerStatus: 'container', PodSandboxStatus: 'sandbox' } as const;
const LIST_FIELD: Readonly<Record<string, { field: string; kind: EntityKind }>> = {
  ListContainers: { field: 'containers', kind: 'container' },
  ListPodSandbox: { field: 'items', kind: 'sandbox' },
  ListImages: { field: 'images', kind: 'image' },
  ListContainerStats: { field: 'stats', kind: 'container' },
  ListPodSandboxStats: { field: 'stats', kind: 'sandbox' },
};

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The id a list item is about: containers and sandboxes by `id`, stats by `attributes.id`. */
export function itemId(method: string, item: Json): string | undefined {
  if (STATS_LISTS.has(method)) return str(obj(item.attributes)?.id);
  return str(item.id);
}

/** The phase a list item shows (stats items carry none: undefined). */
export function itemPhase(method: string, item: Json): Phase | undefined {
  if (method === 'ListContainers') return phaseOfContainerState(item.state);
  if (method === 'ListPodSandbox') return phaseOfSandboxState(item.state);
  if (method === 'ListImages') return 'present';
  return undefined;
}

/** A registry reference without its host part: '127.0.0.1:5000/a/b:1' → 'a/b:1'. */
export function refWithoutHost(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return ref;
  const first = ref.slice(0, slash);
  return first.includes(':') || first.includes('.') || first === 'localhost' ? ref.slice(slash + 1) : ref;
}

export class RecordedWorld {
  readonly entities = new Map<string, RecordedEntity>();
  /** Per recorded call, in recorded order. */
  readonly facts: CallFacts[] = [];
  /** Image reference (tag, digest reference or id) → image id. */
  private readonly imageAliases = new Map<string, string>();
  /** Reference without host → image id (undefined when two images share it). */
  private readonly imageAliasesNoHost = new Map<string, string | undefined>();
  /** `${listMethod}|${id}|${phase}` → the last item recorded for it; `${listMethod}|${id}` → any phase. */
  private readonly items = new Map<string, Json>();
  /** `${kind}|${id}|${phase}` → the last status recorded (ContainerStatus.status / PodSandboxStatus.status). */
  private readonly statuses = new Map<string, Json>();
  /** Recorded stats answers not learned yet, per method, oldest first (learnStatsFor). */
  private readonly pendingStats = new Map<string, Array<() => Json | undefined>>();
  /** Per list method, the answer learned last (see learn). */
  private readonly lastListAnswer = new Map<string, Json | undefined>();
  /** A recorded NotFound per method: its message and the id it named, to shape replay's own. */
  readonly notFound = new Map<string, { message: string; id: string }>();
  /** The sandbox and container ids the recording handed out, in order (their shape is the runtime's). */
  readonly handedOut: string[] = [];

  constructor(calls: readonly TimelineInput[]) {
    const firstSeen = new Map<string, { index: number; phase: Phase; kind: EntityKind; sandboxId?: string }>();
    const created = new Map<string, number>();
    // Pass 1: creations, aliases, observations, item sources.
    const pulls: Array<{ ref?: string; imageRef: string; index: number }> = [];
    calls.forEach((c, i) => this.learn(c, i, firstSeen, created, pulls));
    // A pull answers with an image reference: containerd's is the image id, CRI-O's a digest
    // reference (which the image's list item names among its repoDigests). Images are known by id.
    for (const p of pulls) {
      const id = this.imageAliases.get(p.imageRef) ?? p.imageRef;
      this.alias(p.imageRef, id);
      this.alias(p.ref, id);
      if (!created.has(id)) created.set(id, p.index);
      const e = this.entities.get(id) ?? { kind: 'image' as const, id };
      e.createRequest ??= calls[p.index]!.request;
      this.entities.set(id, e);
    }
    for (const [id, seen] of firstSeen) {
      const at = created.get(id);
      if (at !== undefined && at <= seen.index) continue;
      const e = this.entities.get(id) ?? { kind: seen.kind, id };
      if (seen.sandboxId && !e.sandboxId) e.sandboxId = seen.sandboxId;
      e.initialPhase = seen.phase;
      this.entities.set(id, e);
    }
    // Pass 2: walk the calls with the phases they saw.
    const phase = new Map<string, Phase>();
    for (const e of this.entities.values()) if (e.initialPhase) phase.set(e.id, e.initialPhase);
    for (const c of calls) {
      const named = this.named(c.name, c.request).map((n) => ({ ...n, phase: phase.get(n.id) ?? absentPhase(n.kind) }));
      this.facts.push({ named, key: phaseKey(named) });
      if (c.code === 0) this.advance(c, phase);
    }
  }

  /** The entities a call names, by recorded id (images resolved through the recording's aliases). */
  named(name: string, request: Json): Array<{ kind: EntityKind; id: string }> {
    const out: Array<{ kind: EntityKind; id: string }> = [];
    const ids = namedIds(request);
    if (ids.sandbox) out.push({ kind: 'sandbox', id: ids.sandbox });
    if (ids.container) out.push({ kind: 'container', id: ids.container });
    const ref = namedImageRef(name, request);
    if (ref !== undefined) {
      const id = this.imageId(ref);
      if (id) out.push({ kind: 'image', id });
    }
    return out;
  }

  /** The image id a reference names in the recording (exactly, else by the same name on another registry host). */
  imageId(ref: string): string | undefined {
    return this.imageAliases.get(ref) ?? this.imageAliasesNoHost.get(refWithoutHost(ref));
  }

  /** Image references the recording knows for an image id. */
  imageRefs(id: string): string[] {
    return [...this.imageAliases].filter(([, v]) => v === id).map(([k]) => k);
  }

  item(listMethod: string, id: string, phase?: Phase): Json | undefined {
    const found = (phase !== undefined ? this.items.get(`${listMethod}|${id}|${phase}`) : undefined) ?? this.items.get(`${listMethod}|${id}`);
    return found ?? this.learnStatsFor(listMethod, id);
  }

  /**
   * Stats answers are learned when an item of them is first asked for, newest first, until one
   * lists `id`: what learning them all in order would have left (the last item recorded for each
   * id), without decoding the hundreds of a long recording that are never asked for.
   */
  private learnStatsFor(listMethod: string, id: string): Json | undefined {
    const pending = this.pendingStats.get(listMethod);
    const list = LIST_FIELD[listMethod];
    if (!pending || !list) return undefined;
    while (pending.length > 0) {
      const items = pending.pop()!()?.[list.field];
      if (!Array.isArray(items)) continue;
      for (const raw of items) {
        const item = obj(raw);
        const itemKey = item && itemId(listMethod, item);
        if (itemKey && !this.items.has(`${listMethod}|${itemKey}`)) this.items.set(`${listMethod}|${itemKey}`, item);
      }
      const found = this.items.get(`${listMethod}|${id}`);
      if (found) return found;
    }
    return undefined;
  }

  /** The last recorded status of an entity in that phase, else in any phase. */
  status(kind: EntityKind, id: string, phase: Phase): { status: Json; samePhase: boolean } | undefined {
    const same = this.statuses.get(`${kind}|${id}|${phase}`);
    if (same) return { status: same, samePhase: true };
    const any = this.statuses.get(`${kind}|${id}`);
    return any ? { status: any, samePhase: false } : undefined;
  }

  private alias(ref: string | undefined, id: string): void {
    if (!ref) return;
    this.imageAliases.set(ref, id);
    const bare = refWithoutHost(ref);
    const had = this.imageAliasesNoHost.get(bare);
    this.imageAliasesNoHost.set(bare, this.imageAliasesNoHost.has(bare) && had !== id ? undefined : id);
  }

  private learn(
    c: TimelineInput,
    i: number,
    firstSeen: Map<string, { index: number; phase: Phase; kind: EntityKind; sandboxId?: string }>,
    created: Map<string, number>,
    pulls: Array<{ ref?: string; imageRef: string; index: number }>,
  ): void {
    const see = (kind: EntityKind, id: string | undefined, phase: Phase | undefined, sandboxId?: string) => {
      if (!id || phase === undefined || firstSeen.has(id)) return;
      firstSeen.set(id, { index: i, phase, kind, sandboxId });
    };
    const make = CREATIONS[c.name];
    if (make && c.code === 0) {
      const res = c.response();
      const id = str(res?.[make.field]);
      if (id && make.kind === 'image') pulls.push({ ref: namedImageRef(c.name, c.request), imageRef: id, index: i });
      else if (id) {
        if (!created.has(id)) created.set(id, i);
        const e: RecordedEntity = this.entities.get(id) ?? { kind: make.kind, id };
        e.createRequest ??= c.request;
        if (make.kind === 'container') e.sandboxId ??= str(c.request.podSandboxId);
        this.handedOut.push(id);
        this.entities.set(id, e);
      }
    }
    if (c.code === 5 && !this.notFound.has(c.name)) {
      const id = str(c.request.containerId) ?? str(c.request.podSandboxId);
      if (id && c.message.includes(id)) this.notFound.set(c.name, { message: c.message, id });
    }
    if (c.code !== 0) return;
    if (c.name === 'ImageStatus') {
      const image = obj(obj(c.response())?.image);
      const id = str(image?.id);
      if (image && id) {
        this.alias(namedImageRef(c.name, c.request), id);
        this.alias(id, id);
        this.items.set(`ListImages|${id}`, image);
        this.items.set(`ListImages|${id}|present`, image);
        // It replaced a listed item: the next ListImages answer is learned again, even a repeat.
        this.lastListAnswer.delete('ListImages');
        if (!this.entities.has(id)) this.entities.set(id, { kind: 'image', id });
        see('image', id, 'present');
      }
      return;
    }
    const statusKind = STATUS_METHOD[c.name as keyof typeof STATUS_METHOD];
    if (statusKind) {
      const status = obj(c.response()?.status);
      const id = str(status?.id);
      if (!status || !id) return;
      const phase = statusKind === 'container' ? phaseOfContainerState(status.state) : phaseOfSandboxState(status.state);
      this.statuses.set(`${statusKind}|${id}|${phase}`, status);
      this.statuses.set(`${statusKind}|${id}`, status);
      see(statusKind, id, phase);
      return;
    }
    const list = LIST_FIELD[c.name];
    if (!list) return;
    if (STATS_LISTS.has(c.name)) {
      // Their items carry no phase and name no entity: only item() reads them (learnStatsFor).
      let pending = this.pendingStats.get(c.name);
      if (!pending) this.pendingStats.set(c.name, (pending = []));
      pending.push(c.response);
      return;
    }
    const answer = c.response();
    // Calls recorded with the same answer share its decoding (replay/load.ts, state/build.ts): a
    // relist that showed what this method's last one showed teaches nothing new. Most of an hour's
    // relists are such repeats, and walking each one's items again was most of building this.
    if (answer !== undefined && this.lastListAnswer.get(c.name) === answer) return;
    this.lastListAnswer.set(c.name, answer);
    const items = answer?.[list.field];
    if (!Array.isArray(items)) return;
    for (const raw of items) {
      const item = obj(raw);
      if (!item) continue;
      const id = itemId(c.name, item);
      if (!id) continue;
      const phase = itemPhase(c.name, item);
      this.items.set(`${c.name}|${id}`, item);
      if (phase !== undefined) this.items.set(`${c.name}|${id}|${phase}`, item);
      if (list.kind === 'image') {
        this.alias(id, id);
        for (const r of [...((item.repoTags as string[]) ?? []), ...((item.repoDigests as string[]) ?? [])]) this.alias(r, id);
        if (!this.entities.has(id)) this.entities.set(id, { kind: 'image', id });
      }
      see(list.kind, id, phase, list.kind === 'container' ? str(item.podSandboxId) : undefined);
    }
  }

  private advance(c: TimelineInput, phase: Map<string, Phase>): void {
    const make = CREATIONS[c.name];
    if (make) {
      const answered = str(c.response()?.[make.field]);
      if (answered) phase.set(make.kind === 'image' ? (this.imageId(answered) ?? answered) : answered, make.phase);
      return;
    }
    const t = TRANSITIONS[c.name];
    if (!t) return;
    const target = this.named(c.name, c.request).find((n) => n.kind === t.kind);
    if (!target) return;
    phase.set(target.id, t.to);
    if (t.kind === 'sandbox') {
      for (const e of this.entities.values()) {
        if (e.kind === 'container' && e.sandboxId === target.id && phase.has(e.id)) phase.set(e.id, containerPhaseAfterSandbox(t.to, phase.get(e.id)!));
      }
    }
  }
}

export function absentPhase(kind: EntityKind): Phase {
  return kind === 'image' ? 'absent' : 'removed';
}
