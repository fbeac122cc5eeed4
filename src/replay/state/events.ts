/**
 * GetContainerEvents from the client's world: a runtime sends an event when one of its containers
 * is created, started, stopped or deleted, so a stream that follows the life cycle sends one when
 * the client's own calls move one of its containers — the recorded event of the container's
 * template for that change when the recording has it (with the client's ids), else one made from
 * the container's and its sandbox's recorded statuses. Pure: the replayer delivers them.
 */
import { applyEcho } from '../echo.js';
import { CONTAINER_STATE, SANDBOX_STATE, type Phase } from './phases.js';
import { clientValues, entityEcho, setState } from './lists.js';
import type { RecordedWorld } from './recorded.js';
import type { ClientEntity, ClientWorld } from './world.js';

type Json = Record<string, unknown>;

/** The event a container's move to a phase makes. */
export const EVENT_OF_PHASE: Readonly<Partial<Record<Phase, string>>> = {
  created: 'CONTAINER_CREATED_EVENT',
  running: 'CONTAINER_STARTED_EVENT',
  exited: 'CONTAINER_STOPPED_EVENT',
  removed: 'CONTAINER_DELETED_EVENT',
};

/** Recorded events by `${containerId}|${event type}` (CONTAINER_CREATED_EVENT, the zero value, is absent from the JSON view). */
export function indexEvents(messages: readonly Json[]): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const m of messages) {
    const id = m.containerId;
    if (typeof id === 'string') out.set(`${id}|${String(m.containerEventType ?? 'CONTAINER_CREATED_EVENT')}`, m);
  }
  return out;
}

function nowNs(): string {
  return (BigInt(Date.now()) * 1_000_000n).toString();
}

/** The event for the client's container `e` having just moved to its phase. */
export function containerEvent(e: ClientEntity, world: ClientWorld, recorded: RecordedWorld, recordedEvents: ReadonlyMap<string, Json>): Json | undefined {
  const type = EVENT_OF_PHASE[e.phase];
  if (!type) return undefined;
  const echo = entityEcho(e, world, recorded);
  const template = recordedEvents.get(`${e.template}|${type}`);
  if (template) {
    const ev = applyEcho(structuredClone(template), echo).value;
    ev.createdAt = nowNs();
    for (const st of (ev.containersStatuses as Json[] | undefined) ?? []) if (!e.asRecorded && st.id === e.id) clientValues(st, e);
    return ev;
  }
  const ev: Json = { containerId: e.id, createdAt: nowNs() };
  if (type !== 'CONTAINER_CREATED_EVENT') ev.containerEventType = type;
  const own = recorded.status('container', e.template, e.phase);
  if (own && e.phase !== 'removed') {
    const st = structuredClone(own.status);
    setState(st, CONTAINER_STATE[e.phase]!, 'CONTAINER_CREATED');
    if (!e.asRecorded) clientValues(st, e);
    ev.containersStatuses = [applyEcho(st, echo).value];
  }
  const sandbox = e.sandbox ? world.get(e.sandbox) : undefined;
  const sandboxStatus = sandbox && sandbox.phase !== 'removed' ? recorded.status('sandbox', sandbox.template, sandbox.phase) : undefined;
  if (sandbox && sandboxStatus) {
    const st = structuredClone(sandboxStatus.status);
    setState(st, SANDBOX_STATE[sandbox.phase]!, 'SANDBOX_READY');
    if (!sandbox.asRecorded) clientValues(st, sandbox);
    ev.podSandboxStatus = applyEcho(st, entityEcho(sandbox, world, recorded)).value;
  }
  return ev;
}

/**
 * Whether a recorded stream is answered from the client's world: its events are about containers
 * whose life the recording holds (or it has none, and the recording holds lives). A stream about
 * containers the recording knows nothing else of (a synthetic one) is replayed as recorded.
 */
export function eventsFollowLives(messages: readonly Json[], recorded: RecordedWorld): boolean {
  if (messages.length === 0) return recorded.handedOut.length > 0;
  return messages.some((m) => {
    const e = typeof m.containerId === 'string' ? recorded.entities.get(m.containerId) : undefined;
    return e?.kind === 'container' && (e.createRequest !== undefined || e.initialPhase !== undefined);
  });
}
