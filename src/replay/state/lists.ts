/**
 * List answers from the client's world: ListPodSandbox, ListContainers, ListImages,
 * ListContainerStats and ListPodSandboxStats show the entities in the phases the client's own
 * calls put them in, through the request's filter, as the runtime would. Each item is the
 * recorded item of the entity's template in that phase (else in another phase with its state
 * set, else made from its status or its create request), with the client's ids and names.
 * Pure.
 */
import type { EchoPairs } from '../echo.js';
import { CONTAINER_STATE, SANDBOX_STATE, STATS_LISTS, type EntityKind } from './phases.js';
import { itemId, itemPhase, type RecordedWorld } from './recorded.js';
import type { ClientEntity, ClientWorld } from './world.js';

type Json = Record<string, unknown>;

const FIELD: Readonly<Record<string, string>> = {
  ListContainers: 'containers',
  ListPodSandbox: 'items',
  ListImages: 'images',
  ListContainerStats: 'stats',
  ListPodSandboxStats: 'stats',
};

const KIND: Readonly<Record<string, EntityKind>> = {
  ListContainers: 'container',
  ListPodSandbox: 'sandbox',
  ListImages: 'image',
  ListContainerStats: 'container',
  ListPodSandboxStats: 'sandbox',
};

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** The list answer's field ('containers', 'items', …). */
export function listField(method: string): string {
  return FIELD[method]!;
}

/** What a recorded list answer shows, as a key: its items' ids and phases, sorted. */
export function recordedListKey(method: string, response: Json | undefined): string {
  const items = response?.[FIELD[method]!];
  if (!Array.isArray(items)) return '';
  const parts: string[] = [];
  for (const raw of items) {
    const item = obj(raw);
    const id = item && itemId(method, item);
    if (id) parts.push(`${id}:${itemPhase(method, item!) ?? ''}`);
  }
  return parts.sort().join(',');
}

/** recordedListKey of a stats answer from its items' ids alone (stats items carry no phase; stats-ids.ts). */
export function statsListKey(ids: readonly string[]): string {
  return ids.map((id) => `${id}:`).sort().join(',');
}

/** The same key for what the client would see, in the recording's ids. */
export function clientListKey(method: string, entities: readonly ClientEntity[] | readonly string[]): string {
  const stats = STATS_LISTS.has(method);
  return entities
    .map((e) => (typeof e === 'string' ? `${e}:present` : `${e.template}:${stats ? '' : e.phase}`))
    .sort()
    .join(',');
}

function labelsMatch(selector: unknown, labels: unknown): boolean {
  const sel = obj(selector);
  if (!sel) return true;
  const have = obj(labels) ?? {};
  return Object.entries(sel).every(([k, v]) => have[k] === v);
}

/** The client's labels of an entity: from its create request, else from the recording. */
function labelsOf(e: ClientEntity, recorded: RecordedWorld): unknown {
  const config = obj(e.createRequest?.config);
  if (config) return config.labels;
  const method = e.kind === 'container' ? 'ListContainers' : 'ListPodSandbox';
  return recorded.item(method, e.template, e.phase)?.labels ?? recorded.status(e.kind, e.template, e.phase)?.status.labels;
}

/** The sandboxes or containers the request's filter lets through, in creation order. */
export function visibleEntities(method: string, request: Json, world: ClientWorld, recorded: RecordedWorld): ClientEntity[] {
  const kind = KIND[method]!;
  const filter = obj(request.filter);
  let out = world.live(kind);
  // The stats lists do not show containers that are only created; the others show every phase.
  if (!filter) return out;
  const id = str(filter.id);
  if (id) out = out.filter((e) => e.id.startsWith(id));
  const sandbox = str(filter.podSandboxId);
  if (sandbox && kind === 'container') out = out.filter((e) => e.sandbox !== undefined && e.sandbox.startsWith(sandbox));
  const state = obj(filter.state);
  if (state) {
    // The state enum's zero value (CONTAINER_CREATED, SANDBOX_READY) is absent from the JSON view.
    const want = state.state ?? (kind === 'container' ? 'CONTAINER_CREATED' : 'SANDBOX_READY');
    out = out.filter((e) => (kind === 'container' ? CONTAINER_STATE[e.phase] : SANDBOX_STATE[e.phase]) === want);
  }
  if (filter.labelSelector) out = out.filter((e) => labelsMatch(filter.labelSelector, labelsOf(e, recorded)));
  return out;
}

/** The image ids ListImages shows: present ones, through `filter.image.image`. */
export function visibleImages(request: Json, world: ClientWorld, recorded: RecordedWorld): string[] {
  const ref = str(obj(obj(request.filter)?.image)?.image);
  const present = world.presentImages();
  if (!ref) return present;
  const id = world.imageIdOf(ref) ?? (ref.startsWith('sha256:') ? ref : undefined);
  return present.filter((p) => p === id || recorded.imageRefs(p).includes(ref));
}

/** Replacements that turn a template's item into the client entity's: its id and its sandbox's. */
export function entityEcho(e: ClientEntity, world: ClientWorld, recorded: RecordedWorld): EchoPairs {
  const pairs: EchoPairs = new Map();
  if (e.template !== e.id) pairs.set(e.template, e.id);
  if (e.kind === 'container' && e.sandbox) {
    const templateSandbox = recorded.entities.get(e.template)?.sandboxId;
    const clientSandbox = world.get(e.sandbox);
    if (templateSandbox && clientSandbox && templateSandbox !== clientSandbox.id) pairs.set(templateSandbox, clientSandbox.id);
  }
  return pairs;
}

/**
 * The client's own values in a sandbox's or container's description (its item, its status, its
 * stats' attributes): metadata (name, attempt, namespace, uid), labels and annotations, as the
 * runtime keeps them from the create request. Only for entities the client made.
 */
export function clientValues(target: Json, e: ClientEntity): void {
  const config = obj(e.createRequest?.config);
  if (!config) return;
  // Assigned, not copied: answers are encoded or echoed (which copies), never changed in place.
  if (config.metadata !== undefined) target.metadata = config.metadata;
  if (config.labels !== undefined) target.labels = config.labels;
  else delete target.labels;
  if (config.annotations !== undefined) target.annotations = config.annotations;
  else delete target.annotations;
}

function nowNs(): string {
  return (BigInt(Date.now()) * 1_000_000n).toString();
}

/** A container item from its recorded status (ContainerStatus carries all a list item does, but the sandbox). */
function containerItemFromStatus(status: Json, sandbox: string | undefined): Json {
  const item: Json = { id: status.id, metadata: status.metadata, image: status.image, imageRef: status.imageRef };
  if (sandbox) item.podSandboxId = sandbox;
  for (const k of ['state', 'createdAt', 'labels', 'annotations']) if (status[k] !== undefined) item[k] = status[k];
  return clone(item);
}

function sandboxItemFromStatus(status: Json): Json {
  const item: Json = {};
  for (const k of ['id', 'metadata', 'state', 'createdAt', 'labels', 'annotations', 'runtimeHandler']) if (status[k] !== undefined) item[k] = status[k];
  return clone(item);
}

/** An item for a template that the recording never listed nor inspected: from what the client asked for. */
function itemFromRequest(method: string, e: ClientEntity, recorded: RecordedWorld): Json {
  const config = obj(e.createRequest?.config) ?? {};
  const base: Json = { id: e.template, createdAt: nowNs() };
  if (method === 'ListContainers') {
    const templateSandbox = recorded.entities.get(e.template)?.sandboxId;
    if (templateSandbox) base.podSandboxId = templateSandbox;
    base.image = config.image;
    const ref = str(obj(config.image)?.image);
    const imageId = ref ? recorded.imageId(ref) : undefined;
    if (imageId) base.imageRef = imageId;
    return base;
  }
  if (method === 'ListPodSandbox') {
    if (str(e.createRequest?.runtimeHandler)) base.runtimeHandler = e.createRequest!.runtimeHandler;
    return base;
  }
  // Stats: what a runtime that has measured nothing yet says.
  return { attributes: { id: e.template }, cpu: { timestamp: nowNs() }, memory: { timestamp: nowNs() } };
}

function itemFor(method: string, e: ClientEntity, recorded: RecordedWorld): Json {
  const listed = recorded.item(method, e.template, STATS_LISTS.has(method) ? undefined : e.phase);
  if (listed) return listed;
  if (method === 'ListContainers' || method === 'ListPodSandbox') {
    const st = recorded.status(e.kind, e.template, e.phase);
    if (st) return method === 'ListContainers' ? containerItemFromStatus(st.status, recorded.entities.get(e.template)?.sandboxId) : sandboxItemFromStatus(st.status);
  }
  return itemFromRequest(method, e, recorded);
}

/**
 * The client's list answer (before encoding). Items are shallow copies of recorded ones with
 * their own top-level fields set (ids, state, names): nothing nested is changed, so nothing
 * nested needs copying — this runs on every relist of a kubelet whose world has changed.
 */
export function buildList(method: string, request: Json, world: ClientWorld, recorded: RecordedWorld): Json {
  const field = FIELD[method]!;
  if (method === 'ListImages') {
    const images = visibleImages(request, world, recorded).map((id) => recorded.item('ListImages', id) ?? { id, repoTags: recorded.imageRefs(id).filter((r) => !r.startsWith('sha256:')), size: '0' });
    return images.length > 0 ? { [field]: images } : {};
  }
  const stats = STATS_LISTS.has(method);
  const items: Json[] = [];
  for (const e of visibleEntities(method, request, world, recorded)) {
    const item: Json = { ...itemFor(method, e, recorded) };
    const described = stats ? (item.attributes = { ...(obj(item.attributes) ?? {}) }) as Json : item;
    described.id = e.id;
    if (method === 'ListContainers') {
      if (e.sandbox) item.podSandboxId = e.sandbox;
      setState(item, CONTAINER_STATE[e.phase]!, 'CONTAINER_CREATED');
    }
    if (method === 'ListPodSandbox') setState(item, SANDBOX_STATE[e.phase]!, 'SANDBOX_READY');
    if (!e.asRecorded) clientValues(described, e);
    items.push(item);
  }
  return items.length > 0 ? { [field]: items } : {};
}

/** Sets a state enum field the way the JSON view writes it (the zero value left out). */
export function setState(target: Json, state: string, zero: string): void {
  if (state === zero) delete target.state;
  else target.state = state;
}
