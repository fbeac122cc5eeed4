/**
 * What a call is about — which pod, container or image — from its decoded JSON views
 * (lowerCamelCase, as decodeMessage returns them). Used to look calls up by pod or
 * container and as span attributes. List and Stream calls are about many objects and
 * yield nothing from their responses.
 */
import { lookupMethod, type MethodInfo } from './methods.js';
import { lightType } from './light-schema.js';

export interface CallIds {
  podSandboxId?: string;
  containerId?: string;
  podName?: string;
  podNamespace?: string;
  podUid?: string;
  containerName?: string;
  image?: string;
}

type Json = Record<string, unknown>;

/** The labels the kubelet puts on every sandbox and container. */
const POD_NAME_LABEL = 'io.kubernetes.pod.name';
const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
const POD_UID_LABEL = 'io.kubernetes.pod.uid';
const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';

function obj(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** Walks a.b.c through nested objects. */
function at(root: Json | undefined, ...path: string[]): unknown {
  let cur: unknown = root;
  for (const key of path) cur = obj(cur)?.[key];
  return cur;
}

class IdsBuilder {
  readonly ids: CallIds = {};

  /** First source wins: callers list the most specific sources first. */
  set(key: keyof CallIds, value: unknown): void {
    if (typeof value === 'string' && value !== '' && this.ids[key] === undefined) this.ids[key] = value;
  }

  podMetadata(metadata: unknown): void {
    this.set('podName', at(obj(metadata), 'name'));
    this.set('podNamespace', at(obj(metadata), 'namespace'));
    this.set('podUid', at(obj(metadata), 'uid'));
  }

  labels(labels: unknown, withContainer: boolean): void {
    const l = obj(labels);
    if (!l) return;
    this.set('podName', l[POD_NAME_LABEL]);
    this.set('podNamespace', l[POD_NAMESPACE_LABEL]);
    this.set('podUid', l[POD_UID_LABEL]);
    if (withContainer) this.set('containerName', l[CONTAINER_NAME_LABEL]);
  }

  /** PodSandboxStatus, PodSandboxAttributes: {id, metadata, labels}. */
  sandbox(s: unknown): void {
    this.set('podSandboxId', at(obj(s), 'id'));
    this.podMetadata(at(obj(s), 'metadata'));
    this.labels(at(obj(s), 'labels'), false);
  }

  /** ContainerStatus, ContainerAttributes: {id, metadata.name, image.image, labels}. */
  container(c: unknown): void {
    this.set('containerId', at(obj(c), 'id'));
    this.set('containerName', at(obj(c), 'metadata', 'name'));
    this.set('image', at(obj(c), 'image', 'image'));
    this.labels(at(obj(c), 'labels'), true);
  }
}

function isAboutMany(name: string): boolean {
  return name.startsWith('List') || name.startsWith('Stream');
}

/** Methods whose answers extractIds reads past their top-level podSandboxId/containerId. */
const RESPONSES_READ = new Set(['PodSandboxStatus', 'ContainerStatus', 'PodSandboxStats', 'ContainerStats', 'GetContainerEvents']);
const responseHasIdsCache = new Map<string, boolean>();

/**
 * Whether extractIds can find anything in this method's response: it is about one object and
 * either names it at top level (RunPodSandbox, CreateContainer) or is a status or stats answer.
 * Callers decide this before decoding: an ExecSync answer is mostly stdout, and decoding 8 MiB of
 * it (bytes become base64 text in the JSON view) only to find no id cost more than storing it.
 */
export function responseHasIds(info: MethodInfo): boolean {
  let has = responseHasIdsCache.get(info.path);
  if (has === undefined) {
    has = !isAboutMany(info.name) && (RESPONSES_READ.has(info.name) || namesOneObject(info.responseType));
    responseHasIdsCache.set(info.path, has);
  }
  return has;
}

/** Whether the message has a top-level podSandboxId or containerId (from the schema JSON: no protobuf.js). */
function namesOneObject(typeName: string): boolean {
  return lightType(typeName).fields.some((f) => f.name === 'podSandboxId' || f.name === 'containerId');
}

/** Requests extractIds reads past their top-level podSandboxId/containerId (see the switch below). */
const REQUESTS_READ = new Set(['RunPodSandbox', 'CreateContainer', 'PullImage', 'ImageStatus', 'RemoveImage']);
const requestHasIdsCache = new Map<string, boolean>();

/**
 * Whether extractIds can find anything in this method's request. Most calls a kubelet makes
 * name a pod or container, but some (Version, Status, ImageFsInfo, List* without a filter
 * field) have no field it reads: callers skip decoding those requests.
 */
export function requestHasIds(info: MethodInfo): boolean {
  let has = requestHasIdsCache.get(info.path);
  if (has === undefined) {
    has = REQUESTS_READ.has(info.name) || namesOneObject(info.requestType);
    requestHasIdsCache.set(info.path, has);
  }
  return has;
}

/**
 * `method` may also be a gRPC path ('/runtime.v1.RuntimeService/ContainerStatus'), as a
 * CallRecord holds it; a path outside the CRI yields only top-level podSandboxId/containerId.
 */
export function extractIds(method: MethodInfo | string, request?: Json, response?: Json): CallIds {
  const name = typeof method === 'string' ? (lookupMethod(method)?.name ?? '') : method.name;
  const b = new IdsBuilder();
  const res = isAboutMany(name) ? undefined : response;
  for (const message of [request, res]) {
    b.set('podSandboxId', message?.podSandboxId);
    b.set('containerId', message?.containerId);
  }
  switch (name) {
    case 'RunPodSandbox':
      b.podMetadata(at(request, 'config', 'metadata'));
      b.labels(at(request, 'config', 'labels'), false);
      break;
    case 'CreateContainer':
      b.podMetadata(at(request, 'sandboxConfig', 'metadata'));
      b.set('containerName', at(request, 'config', 'metadata', 'name'));
      b.set('image', at(request, 'config', 'image', 'image'));
      b.labels(at(request, 'config', 'labels'), true);
      b.labels(at(request, 'sandboxConfig', 'labels'), false);
      break;
    case 'PullImage':
      b.set('image', at(request, 'image', 'image'));
      b.podMetadata(at(request, 'sandboxConfig', 'metadata'));
      break;
    case 'ImageStatus':
    case 'RemoveImage':
      b.set('image', at(request, 'image', 'image'));
      break;
    case 'PodSandboxStatus':
      b.sandbox(at(res, 'status'));
      break;
    case 'ContainerStatus':
      b.container(at(res, 'status'));
      break;
    case 'PodSandboxStats':
      b.sandbox(at(res, 'stats', 'attributes'));
      break;
    case 'ContainerStats':
      b.container(at(res, 'stats', 'attributes'));
      break;
    case 'GetContainerEvents':
      // Each event message is about one container; callers pass one message as `response`.
      b.sandbox(at(res, 'podSandboxStatus'));
      break;
  }
  return b.ids;
}
