/**
 * Wires replay's state from a loaded recording: reads the life cycles out of the recorded calls,
 * files each call in the Matcher under the phase it was recorded in (a list under what it
 * showed), and starts the client's world where the recording started.
 */
import type { CallRecord } from '../../call.js';
import { decodeMessage } from '../../cri/codec.js';
import { lookupMethod } from '../../cri/methods.js';
import type { Json } from '../json-diff.js';
import type { Matcher } from '../matcher.js';
import { StatefulChooser, type AnswerKind } from './chooser.js';
import type { RuntimeIdentity } from './housekeeping.js';
import { recordedListKey } from './lists.js';
import { LIST_METHODS } from './phases.js';
import { RecordedWorld, type TimelineInput } from './recorded.js';
import { ClientWorld } from './world.js';

export interface ReplayState {
  chooser: StatefulChooser;
  recorded: RecordedWorld;
  world: ClientWorld;
}

const GUESS_KINDS = ['nearest', 'state-chosen', 'templated', 'synthesized'] as const;

/** Checks `refuse` kinds (library and --refuse). */
export function parseRefuse(kinds: readonly string[]): Set<AnswerKind> {
  for (const k of kinds) {
    if (!(GUESS_KINDS as readonly string[]).includes(k)) throw new Error(`critap: refuse takes ${GUESS_KINDS.join(', ')}, not "${k}"`);
  }
  return new Set(kinds as AnswerKind[]);
}

export function buildState(calls: readonly CallRecord[], views: readonly Json[], matcher: Matcher<CallRecord>, opts: { housekeeping: boolean }): ReplayState {
  const decoded = new Map<number, Json | undefined>();
  const inputs: TimelineInput[] = calls.map((c, i) => {
    const info = lookupMethod(c.method);
    return {
      name: info?.name ?? '',
      request: views[i]!,
      code: c.status.code,
      message: c.status.message,
      response: () => {
        if (decoded.has(i)) return decoded.get(i);
        let json: Json | undefined;
        const data = c.responses[0]?.data;
        if (info && data && !c.responses[0]!.compressed) {
          try {
            json = decodeMessage(info.responseType, data);
          } catch {
            json = undefined;
          }
        }
        decoded.set(i, json);
        return json;
      },
    };
  });
  const recorded = new RecordedWorld(inputs);
  calls.forEach((c, i) => {
    const input = inputs[i]!;
    const phase = LIST_METHODS.has(input.name) ? recordedListKey(input.name, input.response()) : recorded.facts[i]!.key;
    matcher.add({ method: c.method, request: views[i]!, value: c, phase });
  });
  const world = new ClientWorld(recorded);
  let identity: RuntimeIdentity | undefined;
  const version = inputs.findIndex((x) => x.name === 'Version' && x.code === 0);
  if (version >= 0) {
    const v = inputs[version]!.response();
    if (v && typeof v.runtimeName === 'string') {
      identity = { runtimeName: v.runtimeName, runtimeVersion: String(v.runtimeVersion ?? ''), runtimeApiVersion: String(v.runtimeApiVersion ?? 'v1') };
    }
  }
  const recordedEvents: Json[] = [];
  calls.forEach((c, i) => {
    if (inputs[i]!.name !== 'GetContainerEvents') return;
    const type = lookupMethod(c.method)!.responseType;
    for (const m of c.responses) {
      try {
        if (!m.compressed) recordedEvents.push(decodeMessage(type, m.data));
      } catch {
        // an undecodable event is not a template for any
      }
    }
  });
  return { chooser: new StatefulChooser({ matcher, recorded, world, identity, housekeeping: opts.housekeeping, recordedEvents }), recorded, world };
}
