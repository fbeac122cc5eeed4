/**
 * Compiles redaction rules into per-type plans: for each message type, which field
 * numbers to redact and which to walk into. Plans are computed once per type, and a
 * type that cannot reach anything redactable gets `canRedact: false`, which is what
 * lets the recording path skip decoding for almost every call.
 *
 * Types come from the light schema (light-schema.ts), read from the schema JSON a type at a
 * time, not from protobuf.js: the recorder runs on the observer thread, where protobuf.js and
 * the whole CRI root it built held about 2 MB of heap for as long as critap ran.
 */
import { isLightType, lightType, type LightField, type LightType } from './light-schema.js';
import { CRI_PACKAGES, packageNode, type SchemaNode } from './schema-files.js';

/** What to do with one field occurrence. */
export type FieldAction =
  | { kind: 'redact-string' } // non-empty string → REDACTED
  | { kind: 'drop' } // bytes, numbers, enums: removed, i.e. empty/default
  | { kind: 'message'; plan: TypePlan }; // a message (or map entry): rewrite inside

export interface TypePlan {
  /** Field number → action; only fields that can lead to a redaction. */
  actions: Map<number, FieldAction>;
  canRedact: boolean;
}

/** A rule: wherever a type matching `anchor` occurs, follow `segments` and redact what they end at. */
interface AnchoredRule {
  /** '*' (every message type), a full name 'runtime.v1.AuthConfig' or a short one 'AuthConfig'. */
  anchor: string;
  segments: string[];
  source: string;
}

export interface RuleSetOptions {
  extraPaths?: string[];
  keepEnv?: boolean;
}

/** Every message type of every CRI package, as a full name and its schema node (nested types included). */
function eachMessageNode(visit: (fullName: string, node: SchemaNode) => void): void {
  const walk = (prefix: string, ns: SchemaNode): void => {
    for (const [name, nested] of Object.entries(ns.nested ?? {})) {
      const fullName = `${prefix}.${name}`;
      if (nested.fields) visit(fullName, nested);
      walk(fullName, nested);
    }
  };
  for (const pkg of CRI_PACKAGES) walk(pkg, packageNode(pkg));
}

/** Short names of the fields upstream marks debug_redact in any package; applied in all packages. */
function debugRedactRules(): AnchoredRule[] {
  const seen = new Set<string>();
  const rules: AnchoredRule[] = [];
  eachMessageNode((fullName, node) => {
    const short = fullName.slice(fullName.lastIndexOf('.') + 1);
    for (const [field, f] of Object.entries(node.fields as Record<string, { options?: Record<string, unknown> }>)) {
      const key = `${short}:${field}`;
      // v1alpha2 predates the marks; its AuthConfig carries the same secrets, so the marks
      // are matched by short type name across packages.
      if (f.options?.debug_redact === true && !seen.has(key)) {
        seen.add(key);
        rules.push({ anchor: short, segments: [field], source: `debug_redact ${fullName}.${field}` });
      }
    }
  });
  return rules;
}

function parseExtraPath(path: string): AnchoredRule {
  const colon = path.indexOf(':');
  const anchor = colon < 0 ? '*' : path.slice(0, colon).trim().replace(/^\./, '');
  const segments = (colon < 0 ? path : path.slice(colon + 1)).split('.').map((s) => s.trim());
  if (anchor === '' || segments.some((s) => s === '')) {
    throw new Error(`critap: redaction path '${path}' is not 'Type:field.field' (e.g. '*:config.annotations')`);
  }
  return { anchor, segments, source: path };
}

function anchorMatches(anchor: string, type: LightType): boolean {
  if (anchor === '*') return true;
  if (anchor.includes('.') && anchor === type.fullName) return true;
  // Short names match in every package ('AuthConfig', or 'SecurityProfile.ProfileType'-style nesting).
  return CRI_PACKAGES.some((pkg) => `${pkg}.${anchor}` === type.fullName);
}

/**
 * A proto field name as the schema JSON names it ('server_address' → 'serverAddress'): the schema
 * was made by protobuf.js, which keeps the first character and upper-cases a letter after '_'
 * ('_1' stays, where replay/ignore.ts's `camel` drops the '_'), so this must match it exactly.
 */
function schemaFieldName(segment: string): string {
  return segment.slice(0, 1) + segment.slice(1).replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function fieldNamed(type: LightType, segment: string): LightField | undefined {
  const camel = schemaFieldName(segment);
  return type.fields.find((f) => f.name === segment) ?? type.fields.find((f) => f.name === camel);
}

function allTypes(): LightType[] {
  const out: LightType[] = [];
  eachMessageNode((fullName) => out.push(lightType(fullName)));
  return out;
}

/** The message type a field holds (the value type for maps), if it holds messages. */
function messageTypeOf(field: LightField): LightType | undefined {
  const resolved = field.resolved;
  return isLightType(resolved) ? resolved : undefined;
}

/** A path that names nothing is almost certainly a typo that would leak what it meant to hide. */
function checkRuleResolves(rule: AnchoredRule, types: LightType[]): void {
  const anchors = types.filter((t) => anchorMatches(rule.anchor, t));
  if (anchors.length === 0) throw new Error(`critap: redaction path '${rule.source}': no CRI message type '${rule.anchor}'`);
  const resolves = anchors.some((start) => {
    let type: LightType | undefined = start;
    for (const [i, segment] of rule.segments.entries()) {
      const field: LightField | undefined = type ? fieldNamed(type, segment) : undefined;
      if (!field) return false;
      type = i < rule.segments.length - 1 ? messageTypeOf(field) : undefined;
    }
    return true;
  });
  if (!resolves) {
    throw new Error(`critap: redaction path '${rule.source}': no field path '${rule.segments.join('.')}' under ${rule.anchor}`);
  }
}

export class RedactionPlanner {
  private readonly rules: AnchoredRule[];
  private readonly plans = new Map<string, TypePlan>();
  private readonly byTypeName = new Map<string, TypePlan>();
  private fresh: Array<{ plan: TypePlan; targets: Array<[number, FieldAction]> }> = [];

  constructor(options: RuleSetOptions = {}) {
    const extra = (options.extraPaths ?? []).map(parseExtraPath);
    // Every type is built only to check extra paths: with none, types are built as calls meet them.
    const types = extra.length > 0 ? allTypes() : [];
    for (const rule of extra) checkRuleResolves(rule, types);
    this.rules = [...debugRedactRules(), ...extra];
    if (!options.keepEnv) this.rules.push({ anchor: 'ContainerConfig', segments: ['envs', 'value'], source: 'container env values' });
  }

  /** The plan for a top-level message type, computed on first use. */
  planFor(typeName: string): TypePlan {
    const cached = this.byTypeName.get(typeName);
    if (cached) return cached;
    const plan = this.plan(lightType(typeName), []);
    this.settle();
    this.byTypeName.set(typeName, plan);
    return plan;
  }

  /** `pending`: remaining segments of paths that started above this type. */
  private plan(type: LightType, pending: string[][]): TypePlan {
    const active = [...pending, ...this.rules.filter((r) => anchorMatches(r.anchor, type)).map((r) => r.segments)];
    const key = `${type.fullName}|${active.map((s) => s.join('.')).sort().join(',')}`;
    const known = this.plans.get(key);
    if (known) return known;
    const plan: TypePlan = { actions: new Map(), canRedact: false };
    this.plans.set(key, plan); // registered before recursing, so recursive types terminate
    const targets: Array<[number, FieldAction]> = [];
    for (const field of type.fields) {
      const here = active.filter((s) => fieldNamed(type, s[0]!) === field);
      const endsHere = here.some((s) => s.length === 1);
      const rest = here.filter((s) => s.length > 1).map((s) => s.slice(1));
      const valueAction = endsHere ? this.leafAction(field) : this.walkAction(field, rest);
      if (!valueAction) continue;
      targets.push([field.id, field.keyType !== undefined ? this.mapEntry(valueAction) : valueAction]);
    }
    this.fresh.push({ plan, targets });
    return plan;
  }

  /** Redacting a field: strings get REDACTED, bytes/numbers are dropped, messages lose every string and bytes inside. */
  private leafAction(field: LightField): FieldAction {
    const type = messageTypeOf(field);
    if (type) return { kind: 'message', plan: this.everythingIn(type) };
    return field.type === 'string' ? { kind: 'redact-string' } : { kind: 'drop' };
  }

  private walkAction(field: LightField, rest: string[][]): FieldAction | undefined {
    const type = messageTypeOf(field);
    return type ? { kind: 'message', plan: this.plan(type, rest) } : undefined;
  }

  /** Map entries are messages {1: key, 2: value}; only the value is ever redacted. */
  private mapEntry(value: FieldAction): FieldAction {
    const plan: TypePlan = { actions: new Map(), canRedact: false };
    this.fresh.push({ plan, targets: [[2, value]] });
    return { kind: 'message', plan };
  }

  private everythingIn(type: LightType): TypePlan {
    const key = `${type.fullName}|*all*`;
    const known = this.plans.get(key);
    if (known) return known;
    const plan: TypePlan = { actions: new Map(), canRedact: false };
    this.plans.set(key, plan);
    const targets: Array<[number, FieldAction]> = [];
    for (const field of type.fields) {
      const inner = messageTypeOf(field);
      let action: FieldAction | undefined;
      if (inner) action = { kind: 'message', plan: this.everythingIn(inner) };
      else if (field.type === 'string') action = { kind: 'redact-string' };
      else if (field.type === 'bytes') action = { kind: 'drop' };
      if (action) targets.push([field.id, field.keyType !== undefined ? this.mapEntry(action) : action]);
    }
    this.fresh.push({ plan, targets });
    return plan;
  }

  /** Fixed point over the plans made since the last call: a plan can redact if any target can. */
  private settle(): void {
    const pending = this.fresh;
    this.fresh = [];
    const can = (a: FieldAction): boolean => a.kind !== 'message' || a.plan.canRedact;
    for (let changed = true; changed; ) {
      changed = false;
      for (const { plan, targets } of pending) {
        if (!plan.canRedact && targets.some(([, a]) => can(a))) {
          plan.canRedact = true;
          changed = true;
        }
      }
    }
    // Keep only actions that can change something, so the rewrite never walks into dead ends.
    for (const { plan, targets } of pending) {
      for (const [id, action] of targets) if (can(action)) plan.actions.set(id, action);
    }
  }
}
