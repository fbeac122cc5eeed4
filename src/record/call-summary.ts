/**
 * One line per call for `critap show`, like tcpdump: time, client, method, pod/container,
 * duration, status, and a few words of what the request asked.
 */
import type { CallView } from './call-view.js';
import type { StoredCall } from './stored-call.js';

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function at(root: unknown, ...path: string[]): unknown {
  let cur = root;
  for (const k of path) cur = obj(cur)?.[k];
  return cur;
}

const short = (id: unknown) => (typeof id === 'string' ? id.slice(0, 13) : '');

function clip(text: string, max = 70): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Scalars of a message as k=v, depth first, for methods without a summary of their own. */
function leaves(v: unknown, prefix = '', out: string[] = []): string[] {
  const o = obj(v);
  if (!o) return out;
  for (const [k, x] of Object.entries(o)) {
    if (out.length >= 4) break;
    const key = prefix ? `${prefix}.${k}` : k;
    if (obj(x)) leaves(x, key, out);
    else if (Array.isArray(x)) out.push(`${key}=[${x.length}]`);
    else out.push(`${key}=${String(x)}`);
  }
  return out;
}

/** What the request asked, in a few words (from the decoded request, values as recorded). */
export function requestSummary(method: string, request: unknown): string {
  const name = method.slice(method.lastIndexOf('/') + 1);
  switch (name) {
    case 'RunPodSandbox': {
      const m = at(request, 'config', 'metadata');
      const handler = at(request, 'runtimeHandler');
      return `pod ${String(at(m, 'namespace') ?? '')}/${String(at(m, 'name') ?? '')}${handler ? ` handler=${String(handler)}` : ''}`;
    }
    case 'CreateContainer':
      return `${String(at(request, 'config', 'metadata', 'name') ?? '')} image=${String(at(request, 'config', 'image', 'image') ?? '')}`;
    case 'PullImage':
    case 'ImageStatus':
    case 'RemoveImage':
      return String(at(request, 'image', 'image') ?? '');
    case 'StopContainer':
      return `timeout=${String(at(request, 'timeout') ?? 0)}s`;
    case 'ExecSync': {
      const cmd = at(request, 'cmd');
      return `${Array.isArray(cmd) ? clip(cmd.join(' '), 50) : ''} timeout=${String(at(request, 'timeout') ?? 0)}s`;
    }
    case 'Exec':
    case 'Attach':
    case 'PortForward':
    case 'ReopenContainerLog':
    case 'StartContainer':
    case 'RemoveContainer':
    case 'ContainerStatus':
    case 'StopPodSandbox':
    case 'RemovePodSandbox':
    case 'PodSandboxStatus':
      // The id is in the pod/container column already.
      return name === 'Exec' ? clip(String((at(request, 'cmd') as unknown[] | undefined)?.join(' ') ?? '')) : '';
    case 'ListContainers':
    case 'ListPodSandbox':
    case 'ListContainerStats':
    case 'ListPodSandboxStats':
    case 'ListImages': {
      const filter = obj(at(request, 'filter'));
      return filter && Object.keys(filter).length > 0 ? `filter ${leaves(filter).join(' ')}` : '';
    }
    default:
      return clip(leaves(request).join(' '));
  }
}

/**
 * Names learnt from earlier calls of the same listing: most calls name a container or sandbox
 * only by id, and its CreateContainer or RunPodSandbox told the name.
 */
export class NameBook {
  private readonly pods = new Map<string, Pick<StoredCall['ids'], 'podName' | 'podNamespace'>>();
  private readonly containers = new Map<string, { name?: string; sandbox?: string }>();

  /** The call's ids, completed from what earlier calls said (and remembered for later ones). */
  complete(ids: StoredCall['ids']): StoredCall['ids'] {
    const out = { ...ids };
    if (out.containerId) {
      const known = this.containers.get(out.containerId) ?? {};
      known.name ??= out.containerName;
      known.sandbox ??= out.podSandboxId;
      this.containers.set(out.containerId, known);
      out.containerName ??= known.name;
      out.podSandboxId ??= known.sandbox;
    }
    if (out.podSandboxId) {
      const known = this.pods.get(out.podSandboxId) ?? {};
      known.podName ??= out.podName;
      known.podNamespace ??= out.podNamespace;
      this.pods.set(out.podSandboxId, known);
      out.podName ??= known.podName;
      out.podNamespace ??= known.podNamespace;
    }
    return out;
  }
}

/** pod (namespace/name, else sandbox id) and container (name, else id), as far as the call names them. */
export function targetOf(ids: StoredCall['ids']): string {
  const pod = ids.podName ? `${ids.podNamespace ? `${ids.podNamespace}/` : ''}${ids.podName}` : short(ids.podSandboxId);
  const ctr = ids.containerName ?? short(ids.containerId);
  return [pod, ctr].filter(Boolean).join(' ') || '-';
}

/** Time of day with µs, UTC: the date is printed on its own line when it changes. */
export function timeOfDay(view: CallView): string {
  return view.start.slice(11, 26);
}

export function statusText(view: CallView): string {
  const s = view.status.code === 0 ? 'OK' : view.status.codeName;
  return view.end === 'trailers' ? s : `${s}(${view.end})`;
}
