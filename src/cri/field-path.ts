/**
 * Checks a request field path (replay --ignore) against the CRI schema, so a typo such as
 * `nosuch.field` is a usage error with a suggestion instead of a rule that never matches.
 *
 * Paths are as in src/replay/ignore.ts: field names (lowerCamelCase, already converted from
 * snake_case), map keys, list indexes, `*` for any one segment and `**` for any number.
 */
import protobuf from 'protobufjs/light.js';
import { didYouMean } from './suggest.js';
import { lookupType } from './schema.js';

type Node =
  | { kind: 'message'; type: protobuf.Type }
  | { kind: 'map'; value: Node }
  | { kind: 'list'; element: Node }
  | { kind: 'scalar' };

const SCALAR: Node = { kind: 'scalar' };

function valueNode(field: protobuf.Field): Node {
  field.resolve();
  return field.resolvedType instanceof protobuf.Type ? { kind: 'message', type: field.resolvedType } : SCALAR;
}

function fieldNode(field: protobuf.Field): Node {
  if (field instanceof protobuf.MapField) return { kind: 'map', value: valueNode(field) };
  if (field.repeated) return { kind: 'list', element: valueNode(field) };
  return valueNode(field);
}

function children(node: Node): Node[] {
  if (node.kind === 'message') return node.type.fieldsArray.map(fieldNode);
  if (node.kind === 'map') return [node.value];
  if (node.kind === 'list') return [node.element];
  return [];
}

/** The closest miss, for the message: where the path stopped matching and what was there. */
interface Miss {
  at: number;
  segment: string;
  typeNames: Set<string>;
  fields: string[];
}

class PathCheck {
  private readonly seen = new Set<string>();
  miss: Miss | undefined;

  constructor(private readonly segments: readonly string[]) {}

  matches(node: Node, si: number): boolean {
    if (si === this.segments.length) return true;
    if (node.kind === 'message') {
      // Each (type, position) is tried once: `**` over recursive types would never end otherwise.
      const key = `${node.type.fullName}|${si}`;
      if (this.seen.has(key)) return false;
      this.seen.add(key);
    }
    const seg = this.segments[si]!;
    if (seg === '**') return this.matches(node, si + 1) || children(node).some((c) => this.matches(c, si));
    if (seg === '*') return children(node).some((c) => this.matches(c, si + 1));
    switch (node.kind) {
      case 'message': {
        const field = node.type.fieldsArray.find((f) => f.name === seg);
        if (field) return this.matches(fieldNode(field), si + 1);
        const fields = node.type.fieldsArray.map((f) => f.name);
        // Short names: v1 and v1alpha2 have the same message under the same name.
        const typeName = node.type.name;
        if (!this.miss || si > this.miss.at) this.miss = { at: si, segment: seg, typeNames: new Set([typeName]), fields };
        else if (si === this.miss.at) {
          this.miss.typeNames.add(typeName);
          this.miss.fields.push(...fields);
        }
        return false;
      }
      case 'map':
        return this.matches(node.value, si + 1);
      case 'list':
        return /^\d+$/.test(seg) && this.matches(node.element, si + 1);
      default:
        return false;
    }
  }
}

export class FieldPathError extends Error {
  /** A mistake in what the user typed: the CLI prints it as a usage error (exit code 2). */
  readonly usage = true;
}

/**
 * Throws FieldPathError unless `segments` can name something in at least one of the request
 * types; its message says where the path went wrong.
 */
export function checkFieldPath(segments: readonly string[], requestTypes: readonly string[]): void {
  const check = new PathCheck(segments);
  for (const t of requestTypes) if (check.matches({ kind: 'message', type: lookupType(t) }, 0)) return;
  const miss = check.miss;
  if (!miss) throw new FieldPathError(`names no field of ${requestTypes.length === 1 ? requestTypes[0] : 'any CRI request'}`);
  const where = miss.typeNames.size === 1 ? [...miss.typeNames][0] : miss.at === 0 ? 'no CRI request' : 'no message there';
  const has = miss.typeNames.size === 1 ? 'has no field' : 'has a field';
  throw new FieldPathError(`${where} ${has} "${miss.segment}"${didYouMean(miss.segment, miss.fields)}`);
}
