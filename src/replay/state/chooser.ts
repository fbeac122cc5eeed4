/**
 * Replay's answer choice when it follows the client's life cycle. Each call is read in the
 * client's world (which sandbox, container or image it names, and where that one is in its
 * life), turned into the recording's terms (the template entities' ids), and answered by a
 * recorded call made in the same phases — equality, nearness and recorded order decide among
 * those (the Matcher). Lists are built from the client's world. Creations make client entities
 * (new ids on a template's later lives). What the recording cannot answer but every runtime does
 * is synthesized. Every choice says which kind of answer it is.
 */
import type { CallRecord } from '../../call.js';
import { decodeMessage } from '../../cri/codec.js';
import type { MethodInfo } from '../../cri/methods.js';
import type { EchoPairs } from '../echo.js';
import type { Difference } from '../json-diff.js';
import type { Closest, Matcher, MissReason } from '../matcher.js';
import { housekeepingAnswer, IDEMPOTENT_ON_GONE, notFoundMessage, type RuntimeIdentity } from './housekeeping.js';
import { buildList, clientListKey, clientValues, entityEcho, setState, visibleEntities, visibleImages } from './lists.js';
import { CONTAINER_STATE, CREATIONS, LIST_METHODS, SANDBOX_STATE, TRANSITIONS, namedIds, namedImageRef, phaseKey, type EntityKind, type Phase } from './phases.js';
import { containerEvent, eventsFollowLives, indexEvents } from './events.js';
import type { RecordedWorld } from './recorded.js';
import type { ClientEntity, ClientWorld } from './world.js';

type Json = Record<string, unknown>;

export type AnswerKind = 'exact' | 'nearest' | 'state-chosen' | 'templated' | 'synthesized' | 'miss';
export const ANSWER_KINDS: readonly AnswerKind[] = ['exact', 'nearest', 'state-chosen', 'templated', 'synthesized', 'miss'];

export type Choice =
  | {
      kind: Exclude<AnswerKind, 'miss'>;
      /** The recorded call whose answer is sent (with `echo` and `edit` applied)… */
      call?: CallRecord;
      index?: number;
      echo: EchoPairs;
      /** Changes to the decoded answer (the client's phase and values); true when it changed something. */
      edit?: (answer: Json) => boolean;
      /** …or an answer made here. */
      made?: { answer: Json; code: number; message: string };
      /** A stream of the client's own container events (GetContainerEvents): subscribe() delivers them. */
      live?: true;
      differences: Difference[];
      /** In plain words: why this answer. */
      why: string;
    }
  | { kind: 'miss'; reason: MissReason; code: number; message: string; closest?: Closest };

const STATUS_CODE_NOT_FOUND = 5;
const STATUS_CODE_UNKNOWN = 2;
const ID_FIELDS = new Set(['containerId', 'podSandboxId']);

/** The matcher's cursor: the named entities' ids (the recorded order is kept per entity). */
function cursorOf(named: Named): string {
  const { sandbox, container, image } = named;
  if (!sandbox && !container && !image) return '';
  return [sandbox?.id, container?.id, image?.id].filter(Boolean).join(',');
}

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

export interface ChooserOptions {
  matcher: Matcher<CallRecord>;
  recorded: RecordedWorld;
  world: ClientWorld;
  identity?: RuntimeIdentity;
  /** Answer the calls every runtime answers when the recording has none (off with a fallback runtime: it answers them). */
  housekeeping?: boolean;
  /** Every recorded GetContainerEvents message, decoded. */
  recordedEvents?: readonly Json[];
}

/** What a call names in the client's world. */
interface Named {
  sandbox?: ClientEntity;
  container?: ClientEntity;
  image?: { id: string; ref: string };
}

export class StatefulChooser {
  private readonly matcher: Matcher<CallRecord>;
  private readonly recorded: RecordedWorld;
  private readonly world: ClientWorld;
  private readonly identity?: RuntimeIdentity;
  private readonly housekeeping: boolean;
  private readonly recordedEvents: ReadonlyMap<string, Json>;
  private readonly followEvents: boolean;
  private readonly eventListeners = new Set<(event: Json) => void>();
  /** Client id → template id, for the client entities whose ids are not the recorded ones. */
  private readonly toTemplate = new Map<string, string>();

  constructor(opts: ChooserOptions) {
    this.matcher = opts.matcher;
    this.recorded = opts.recorded;
    this.world = opts.world;
    this.identity = opts.identity;
    this.housekeeping = opts.housekeeping ?? true;
    this.recordedEvents = indexEvents(opts.recordedEvents ?? []);
    this.followEvents = eventsFollowLives(opts.recordedEvents ?? [], opts.recorded);
  }

  /** Delivers the client's container events to a live GetContainerEvents stream until unsubscribed. */
  subscribe(listener: (event: Json) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private emit(moved: readonly ClientEntity[]): void {
    if (this.eventListeners.size === 0) return;
    for (const e of moved) {
      if (e.kind !== 'container') continue;
      const event = containerEvent(e, this.world, this.recorded, this.recordedEvents);
      if (event) for (const l of this.eventListeners) l(event);
    }
  }

  choose(path: string, info: MethodInfo, request: Json): Choice {
    const name = info.name;
    if (LIST_METHODS.has(name)) return this.list(path, name, request);
    const named: Named = {};
    const ids = namedIds(request);
    const unknown = this.nameEntity(named, name, 'sandbox', ids.sandbox) ?? this.nameEntity(named, name, 'container', ids.container);
    if (unknown) return unknown;
    const ref = namedImageRef(name, request);
    if (ref !== undefined) {
      const id = this.world.imageIdOf(ref);
      if (id) named.image = { id, ref };
    }
    const gone = named.sandbox?.phase === 'removed' ? named.sandbox : named.container?.phase === 'removed' ? named.container : undefined;
    const recordedRequest = this.toRecordedTerms(request, named);
    const phase = this.phaseOf(named);
    if (gone && !this.matcher.hasPhase(path, phase)) {
      if (IDEMPOTENT_ON_GONE.has(name)) return this.made(0, '', {}, `${gone.kind} ${gone.id} is removed already; ${name} succeeds`);
      return this.made(STATUS_CODE_NOT_FOUND, notFoundMessage(name, gone.kind as 'sandbox' | 'container', gone.id, this.recorded), {}, `${gone.kind} ${gone.id} was removed by the client`);
    }
    const cursor = cursorOf(named);
    const r = this.matcher.match(path, recordedRequest, { phase, cursor });
    if (r.kind === 'miss') {
      if (r.reason === 'no-method' && this.housekeeping) {
        const answer = housekeepingAnswer(name, { recorded: this.recorded, world: this.world, identity: this.identity, entity: named.container ?? named.sandbox, image: named.image?.id });
        if (answer) {
          this.advance(name, request, undefined, named, false);
          return this.made(0, '', answer, `the recording has no ${name}; every runtime answers it`);
        }
      }
      return { kind: 'miss', reason: r.reason, code: r.code, message: r.message, closest: r.closest };
    }
    if (name === 'GetContainerEvents' && this.followEvents) {
      return { kind: 'state-chosen', live: true, echo: new Map(), differences: [], why: "GetContainerEvents: the client's own containers' events, as its calls make them" };
    }
    const subject = named.container ?? named.sandbox;
    // A status in a phase the recording never asked about, or the nearest about another entity:
    // the entity's own recorded status, moved to the client's phase.
    if (subject && (name === 'ContainerStatus' || name === 'PodSandboxStatus') && (!r.phaseMatched || r.differences.some((d) => ID_FIELDS.has(d.path)))) {
      const derived = this.derivedStatus(subject);
      if (derived) return derived;
    }
    // The matcher's echo map is this result's own (made per hit): added to, not copied.
    const echo: EchoPairs = r.echo;
    let created: ClientEntity | undefined;
    if (r.value.status.code === 0) created = this.advance(name, request, r.value, named, r.differences.length === 0);
    const involved = named.sandbox || named.container || created ? [named.sandbox, named.container, created] : [];
    for (const e of involved) if (e) for (const [a, b] of entityEcho(e, this.world, this.recorded)) echo.set(a, b);
    const templated = involved.find((e) => e && e.id !== e.template);
    const edit = subject && !subject.asRecorded ? this.clientEdit(name, subject) : undefined;
    const kind = templated ? 'templated' : r.differences.length > 0 ? 'nearest' : !r.phaseMatched ? 'state-chosen' : 'exact';
    let why = r.explanation;
    if (templated) why += `; ${templated.kind} ${templated.id} follows recorded ${templated.template}`;
    return { kind, call: r.value, index: r.index, echo, edit, differences: r.differences, why };
  }

  /**
   * Puts the entity a request names (by id or prefix) into `named`; returns the answer instead
   * when the id names none (or several) of the client's entities.
   */
  private nameEntity(named: Named, name: string, kind: 'sandbox' | 'container', id: string | undefined): Choice | undefined {
    if (id === undefined) return undefined;
    const r = this.world.resolve(kind, id);
    if ('entity' in r) {
      named[kind] = r.entity;
      return undefined;
    }
    if ('ambiguous' in r) {
      return this.made(STATUS_CODE_UNKNOWN, `an error occurred when try to find ${kind} "${id}": multiple IDs found with provided prefix: ${id}`, {}, `${id} is a prefix of ${r.ambiguous.length} ${kind} ids`);
    }
    if (IDEMPOTENT_ON_GONE.has(name)) return this.made(0, '', {}, `${kind} ${id} was never handed out; ${name} of something that is not there succeeds`);
    return this.made(STATUS_CODE_NOT_FOUND, notFoundMessage(name, kind, id, this.recorded), {}, `${kind} ${id} was never handed out by this replay`);
  }

  /** Client ids → the ids of the entities they follow; prefixes → whole ids. */
  private toRecordedTerms(request: Json, named: Named): Json {
    let out = request;
    const fix = (field: 'podSandboxId' | 'containerId', e: ClientEntity | undefined) => {
      if (e && out[field] !== e.template) {
        if (out === request) out = { ...request };
        out[field] = e.template;
      }
    };
    fix('podSandboxId', named.sandbox);
    fix('containerId', named.container);
    if (this.toTemplate.size === 0) return out;
    return replaceStrings(out, this.toTemplate) as Json;
  }

  private phaseOf(named: Named): string {
    const phases: Array<{ kind: EntityKind; phase: Phase }> = [];
    if (named.sandbox) phases.push({ kind: 'sandbox', phase: named.sandbox.phase });
    if (named.container) phases.push({ kind: 'container', phase: named.container.phase });
    if (named.image) phases.push({ kind: 'image', phase: this.world.phaseOfImage(named.image.id) });
    return phaseKey(phases);
  }

  /** Applies a successful call to the client's world; returns the entity it made, if any. */
  private advance(name: string, request: Json, answered: CallRecord | undefined, named: Named, equal: boolean): ClientEntity | undefined {
    const make = CREATIONS[name];
    if (make) {
      if (!answered) return undefined;
      const recordedAnswer = decodeAnswer(answered, name);
      const template = typeof recordedAnswer?.[make.field] === 'string' ? (recordedAnswer[make.field] as string) : undefined;
      if (!template) return undefined;
      if (make.kind === 'image') {
        this.world.setImage(this.recorded.imageId(template) ?? template, 'present', namedImageRef(name, request));
        return undefined;
      }
      const e = this.world.create(make.kind, template, request, make.kind === 'container' ? named.sandbox?.id : undefined, equal);
      if (e.id !== e.template) this.toTemplate.set(e.id, e.template);
      this.emit([e]);
      return e;
    }
    const t = TRANSITIONS[name];
    if (!t) return undefined;
    if (t.kind === 'image') {
      if (named.image) this.world.setImage(named.image.id, 'absent');
      return undefined;
    }
    const target = t.kind === 'sandbox' ? named.sandbox : named.container;
    if (target) this.emit(this.world.move(target, t.to));
    return undefined;
  }

  /** Edits that put a templated entity's own names, attempt, labels and annotations into an answer about it. */
  private clientEdit(name: string, e: ClientEntity): ((answer: Json) => boolean) | undefined {
    const pick: Record<string, (a: Json) => Json | undefined> = {
      ContainerStatus: (a) => obj(a.status),
      PodSandboxStatus: (a) => obj(a.status),
      ContainerStats: (a) => obj(obj(a.stats)?.attributes),
      PodSandboxStats: (a) => obj(obj(a.stats)?.attributes),
    };
    const at = pick[name];
    if (!at) return undefined;
    return (answer) => {
      const target = at(answer);
      if (!target) return false;
      clientValues(target, e);
      return true;
    };
  }

  private derivedStatus(e: ClientEntity): Choice | undefined {
    if (e.phase === 'removed') return undefined;
    const st = this.recorded.status(e.kind, e.template, e.phase);
    if (!st) return undefined;
    const status = structuredClone(st.status);
    if (!st.samePhase) {
      if (e.kind === 'container') {
        setState(status, CONTAINER_STATE[e.phase]!, 'CONTAINER_CREATED');
        if (e.phase === 'exited') {
          status.finishedAt ??= (BigInt(Date.now()) * 1_000_000n).toString();
          status.reason ??= 'Completed';
        }
      } else {
        setState(status, SANDBOX_STATE[e.phase]!, 'SANDBOX_READY');
      }
    }
    if (!e.asRecorded) clientValues(status, e);
    const answer = { status };
    const echo = entityEcho(e, this.world, this.recorded);
    const how = st.samePhase ? 'its last recorded status in this phase' : `its recorded status, moved to ${e.phase}`;
    return { kind: 'state-chosen', made: { answer, code: 0, message: '' }, echo, differences: [], why: `${e.kind} ${e.id} is ${e.phase}: ${how}` };
  }

  /**
   * What each list request shows of the world, and the lists built from it, for as long as the
   * world stays as it was: a kubelet relists every second, mostly with nothing changed.
   */
  private readonly shownLists = new Map<string, { key?: string; built?: Choice }>();
  private shownListsVersion = -1;

  private list(path: string, name: string, request: Json): Choice {
    if (this.shownListsVersion !== this.world.version) {
      this.shownLists.clear();
      this.shownListsVersion = this.world.version;
    }
    const cacheKey = `${name}\u0000${JSON.stringify(request)}`;
    let seen = this.shownLists.get(cacheKey);
    if (seen?.built) return seen.built;
    if (!seen) {
      const shown = name === 'ListImages' ? visibleImages(request, this.world, this.recorded) : visibleEntities(name, request, this.world, this.recorded);
      // Only a world whose entities are all as recorded can be answered by a recorded list.
      seen = { key: shown.every((e) => typeof e === 'string' || e.asRecorded) ? clientListKey(name, shown) : undefined };
      this.shownLists.set(cacheKey, seen);
    }
    if (seen.key !== undefined) {
      // The recording has this very list: its answers, as recorded, in recorded order.
      const recordedRequest = this.toTemplate.size === 0 ? request : (replaceStrings(request, this.toTemplate) as Json);
      const r = this.matcher.match(path, recordedRequest, { phase: seen.key, cursor: '', equalOnly: true });
      if (r.kind === 'hit' && r.phaseMatched) return { kind: 'exact', call: r.value, index: r.index, echo: r.echo, differences: [], why: r.explanation };
    }
    const answer = buildList(name, request, this.world, this.recorded);
    const field = Object.values(answer)[0];
    const n = Array.isArray(field) ? field.length : 0;
    seen.built = { kind: 'state-chosen', made: { answer, code: 0, message: '' }, echo: new Map(), differences: [], why: `${name}: ${n === 1 ? '1 item' : `${n} items`} from the client's world` };
    return seen.built;
  }

  private made(code: number, message: string, answer: Json, why: string): Choice {
    return { kind: 'synthesized', made: { answer, code, message }, echo: new Map(), differences: [], why };
  }
}

const answerCache = new WeakMap<CallRecord, Json | undefined>();

function decodeAnswer(call: CallRecord, name: string): Json | undefined {
  if (answerCache.has(call)) return answerCache.get(call);
  let json: Json | undefined;
  const data = call.responses[0]?.data;
  const type = RESPONSE_TYPES[name];
  if (data && type) {
    try {
      json = decodeMessage(`${call.method.split('/')[1]!.replace(/\.(Runtime|Image)Service$/, '')}.${type}`, data);
    } catch {
      json = undefined;
    }
  }
  answerCache.set(call, json);
  return json;
}

const RESPONSE_TYPES: Readonly<Record<string, string>> = {
  RunPodSandbox: 'RunPodSandboxResponse',
  CreateContainer: 'CreateContainerResponse',
  PullImage: 'PullImageResponse',
};

/** Every string equal to a key, replaced by its value (ids in filters and nested fields). */
function replaceStrings(value: unknown, map: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return map.get(value) ?? value;
  if (Array.isArray(value)) return value.map((v) => replaceStrings(v, map));
  if (value !== null && typeof value === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(value as Json)) out[k] = replaceStrings(v, map);
    return out;
  }
  return value;
}
