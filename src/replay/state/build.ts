/**
 * Wires replay's state from a loaded recording: reads the life cycles out of the recorded calls,
 * files each call in the Matcher under the phase it was recorded in (a list under what it
 * showed), and starts the client's world where the recording started.
 */
import type { CallRecord, TimedMessage } from '../../call.js';
import { decodeMessage } from '../../cri/codec.js';
import { lookupMethod } from '../../cri/methods.js';
import type { Json } from '../json-diff.js';
import type { Matcher } from '../matcher.js';
import { StatefulChooser, type AnswerKind } from './chooser.js';
import type { RuntimeIdentity } from './housekeeping.js';
import { recordedListKey, statsListKey } from './lists.js';
import { statsIds } from './stats-ids.js';
import { LIST_METHODS, STATS_LISTS } from './phases.js';
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

/**
 * Recorded answers decoded once per body. Calls recorded with the same answer share one body
 * (load.ts), and so one decoding: a long recording's relists are thousands of copies of a few
 * large answers, and decoding each one was most of replay's start-up time and memory.
 */
class DecodedAnswers {
  private readonly byType = new Map<string, WeakMap<Buffer, Json | undefined>>();
  /** What a list answer showed (recordedListKey), by decoded answer. */
  private readonly listKeys = new WeakMap<Json, string>();

  first(type: string, m: TimedMessage | undefined): Json | undefined {
    if (!m || m.compressed) return undefined;
    let cache = this.byType.get(type);
    if (!cache) this.byType.set(type, (cache = new WeakMap()));
    if (cache.has(m.data)) return cache.get(m.data);
    let json: Json | undefined;
    try {
      json = decodeMessage(type, m.data);
    } catch {
      json = undefined;
    }
    cache.set(m.data, json);
    return json;
  }

  /**
   * A stats answer's list key from its ids, read off the wire (stats-ids.ts): no two stats
   * answers are the same, and decoding each whole only for its key was half of a long recording's
   * start. Same key as listKey of the decoded answer ('' when it does not decode).
   */
  statsKey(name: string, type: string, m: TimedMessage | undefined): string {
    if (!m || m.compressed) return recordedListKey(name, undefined);
    let key = this.statsKeys.get(m.data);
    if (key === undefined) {
      try {
        key = statsListKey(statsIds(type, m.data));
      } catch {
        key = recordedListKey(name, undefined);
      }
      this.statsKeys.set(m.data, key);
    }
    return key;
  }
  private readonly statsKeys = new WeakMap<Buffer, string>();

  listKey(name: string, answer: Json | undefined): string {
    if (!answer) return recordedListKey(name, answer);
    let key = this.listKeys.get(answer);
    if (key === undefined) this.listKeys.set(answer, (key = recordedListKey(name, answer)));
    return key;
  }
}

export function buildState(calls: readonly CallRecord[], views: readonly Json[], matcher: Matcher<CallRecord>, opts: { housekeeping: boolean }): ReplayState {
  const answers = new DecodedAnswers();
  const inputs: TimelineInput[] = calls.map((c, i) => {
    const info = lookupMethod(c.method);
    return {
      name: info?.name ?? '',
      request: views[i]!,
      code: c.status.code,
      message: c.status.message,
      response: () => (info ? answers.first(info.responseType, c.responses[0]) : undefined),
    };
  });
  const recorded = new RecordedWorld(inputs);
  calls.forEach((c, i) => {
    const input = inputs[i]!;
    const phase = STATS_LISTS.has(input.name)
      ? answers.statsKey(input.name, lookupMethod(c.method)!.responseType, c.responses[0])
      : LIST_METHODS.has(input.name)
        ? answers.listKey(input.name, input.response())
        : recorded.facts[i]!.key;
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
