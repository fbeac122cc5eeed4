/**
 * The ids a fault rule's pod=/namespace=/container=/image= are matched on, resolved as the
 * recorder resolves them: from the request, completed by what earlier calls taught (a
 * StartContainer names only its container id; CreateContainer's answer told which pod it is in).
 */
import { decodeMessage } from '../cri/decode.js';
import { extractIds, responseHasIds, type CallIds } from '../cri/ids.js';
import { lookupMethod } from '../cri/methods.js';
import { PodLinker } from '../telemetry/pod-links.js';
import type { Injection } from './set.js';

/** HTTP/2 INTERNAL_ERROR: what `reset` sends; gRPC clients report it as INTERNAL. */
export const RST_INTERNAL_ERROR = 0x2;

/** The status message of an injected error when the rule gives none: it says it was critap. */
export function injectedMessage(i: Injection): string {
  return `critap: injected fault (rule ${i.ruleId}: ${i.rule.text})`;
}

function view(type: string, bytes: Buffer | undefined): Record<string, unknown> | undefined {
  if (!bytes) return undefined;
  try {
    return decodeMessage(type, bytes);
  } catch {
    return undefined; // a request that does not decode matches no id rule
  }
}

export class FaultIds {
  private readonly linker = new PodLinker();

  /** The request's ids, completed with what the linker knows. */
  ofRequest(path: string, request: Buffer): CallIds | undefined {
    const info = lookupMethod(path);
    if (!info) return undefined;
    return this.linker.link(extractIds(info, view(info.requestType, request)));
  }

  /** Learns from an answer (RunPodSandbox's new sandbox id, CreateContainer's container id). */
  learnAnswer(path: string, request: Buffer, response: Buffer | undefined): void {
    const info = lookupMethod(path);
    if (!info || !responseHasIds(info)) return;
    this.linker.link(extractIds(info, view(info.requestType, request), view(info.responseType, response)));
  }
}
