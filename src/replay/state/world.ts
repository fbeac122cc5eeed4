/**
 * The client's world: the sandboxes, containers and images as the client has made them, each in
 * the phase the client's own calls have moved it to, each tied to the recorded entity it follows
 * (its template). The first life of a recorded entity gets the recorded id; every later life made
 * from the same template gets a new id of the runtime's shape. Pure.
 */
import { createHash } from 'node:crypto';
import { containerPhaseAfterSandbox, type EntityKind, type Phase } from './phases.js';
import type { RecordedWorld } from './recorded.js';

type Json = Record<string, unknown>;

export interface ClientEntity {
  kind: EntityKind;
  /** The id the client knows. */
  id: string;
  /** The recorded entity whose answers this one gets. */
  template: string;
  phase: Phase;
  /** Containers: the client's sandbox id. */
  sandbox?: string;
  /** The client's own create request (its names, attempt, labels are echoed into answers). */
  createRequest?: Json;
  /** Made by a request equal to the template's: the template's recorded answers describe it as they are. */
  asRecorded: boolean;
  /** Creation order, for lists. */
  seq: number;
}

export type Resolved = { entity: ClientEntity } | { ambiguous: string[] } | { unknown: true };

const HEX = /^[0-9a-f]+$/;

export class ClientWorld {
  private readonly byId = new Map<string, ClientEntity>();
  /** Ids handed out (or pre-existing): never handed out again. */
  private readonly taken = new Set<string>();
  private readonly lives = new Map<string, number>();
  private readonly imagePhase = new Map<string, Phase>();
  /** Image references the client used → image id. */
  private readonly imageRefs = new Map<string, string>();
  private seq = 0;
  /** Goes up whenever anything in the world changes: what was built from it can be reused until then. */
  version = 0;

  constructor(private readonly recorded: RecordedWorld) {
    for (const e of recorded.entities.values()) {
      if (e.initialPhase === undefined) continue;
      if (e.kind === 'image') {
        this.imagePhase.set(e.id, e.initialPhase);
        continue;
      }
      this.add({ kind: e.kind, id: e.id, template: e.id, phase: e.initialPhase, sandbox: e.sandboxId, asRecorded: true, seq: this.seq++ });
    }
  }

  private add(e: ClientEntity): ClientEntity {
    this.version++;
    this.byId.set(e.id, e);
    this.taken.add(e.id);
    return e;
  }

  get(id: string): ClientEntity | undefined {
    return this.byId.get(id);
  }

  /**
   * A client's id for a sandbox or container: the id itself, or (as containerd does) a prefix
   * that only one live entity's id starts with.
   */
  resolve(kind: EntityKind, idOrPrefix: string): Resolved {
    const exact = this.byId.get(idOrPrefix);
    if (exact && exact.kind === kind) return { entity: exact };
    const hits: ClientEntity[] = [];
    for (const e of this.byId.values()) if (e.kind === kind && e.phase !== 'removed' && e.id.startsWith(idOrPrefix)) hits.push(e);
    if (hits.length === 1) return { entity: hits[0]! };
    if (hits.length > 1) return { ambiguous: hits.map((e) => e.id) };
    return { unknown: true };
  }

  /** A new sandbox or container following `template`; its id is the template's on its first life. */
  create(kind: EntityKind, template: string, request: Json, sandbox?: string, asRecorded = false): ClientEntity {
    const id = this.taken.has(template) ? this.newId(template) : template;
    return this.add({ kind, id, template, phase: kind === 'sandbox' ? 'ready' : 'created', sandbox, createRequest: request, asRecorded: asRecorded && id === template, seq: this.seq++ });
  }

  /** Moves an entity; a sandbox takes its containers along (stopped with it, removed with it). Returns every entity that moved. */
  move(e: ClientEntity, to: Phase): ClientEntity[] {
    this.version++;
    const moved: ClientEntity[] = [];
    if (e.phase !== to) moved.push(e);
    e.phase = to;
    if (e.kind !== 'sandbox') return moved;
    for (const c of this.byId.values()) {
      if (c.kind !== 'container' || c.sandbox !== e.id) continue;
      const next = containerPhaseAfterSandbox(to, c.phase);
      if (next !== c.phase) moved.push(c);
      c.phase = next;
    }
    return moved;
  }

  /** Live (not removed) sandboxes or containers, in creation order (Map order is insertion order). */
  live(kind: EntityKind): ClientEntity[] {
    const out: ClientEntity[] = [];
    for (const e of this.byId.values()) if (e.kind === kind && e.phase !== 'removed') out.push(e);
    return out;
  }

  /** Every entity ever made or found (removed ones included). */
  all(): IterableIterator<ClientEntity> {
    return this.byId.values();
  }

  imageIdOf(ref: string): string | undefined {
    return this.imageRefs.get(ref) ?? this.recorded.imageId(ref);
  }

  phaseOfImage(id: string): Phase {
    return this.imagePhase.get(id) ?? 'absent';
  }

  setImage(id: string, phase: Phase, ref?: string): void {
    this.version++;
    this.imagePhase.set(id, phase);
    if (ref) this.imageRefs.set(ref, id);
  }

  presentImages(): string[] {
    return [...this.imagePhase].filter(([, p]) => p === 'present').map(([id]) => id);
  }

  /**
   * An id of the template's shape that was never handed out: for the usual 64 hex digits, hex
   * digits of a hash of the template and the life's number (the same on every run of a replay).
   */
  private newId(template: string): string {
    for (;;) {
      const n = (this.lives.get(template) ?? 0) + 1;
      this.lives.set(template, n);
      let id: string;
      if (HEX.test(template)) {
        let hex = '';
        for (let k = 0; hex.length < template.length; k++) hex += createHash('sha256').update(`${template}:${n}:${k}`).digest('hex');
        id = hex.slice(0, template.length);
      } else {
        id = `${template}-${n}`;
      }
      if (!this.taken.has(id)) return id;
    }
  }
}
