/**
 * OTLP trace protobuf, written straight from a call's span facts (call-span.ts): this replaces,
 * on the live path, the SDK's ReadableSpan plus @opentelemetry/otlp-transformer's
 * ProtobufTraceSerializer. Each span is encoded once, when its call is drained, into a small
 * buffer (the span queue holds those, not object graphs); a batch becomes an
 * ExportTraceServiceRequest by framing the buffers behind the resource and scope, encoded once
 * per pipeline.
 *
 * Field numbers are opentelemetry-proto's (collector/trace/v1, trace/v1, common/v1,
 * resource/v1). The fields, their values and the zeros written are those of the SDK's
 * serializer, so a collector sees the same spans as before; a test decodes both and compares.
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { CallSpanFacts } from './call-span.js';
import { readField, readVarint, WIRE_LEN, WIRE_VARINT } from '../cri/proto-wire.js';
import { I32, I64, LEN, ProtoWriter, VARINT, varintSize } from './proto-writer.js';

/** OTLP SpanKind SERVER (the API's SpanKind.SERVER + 1: OTLP keeps 0 for unspecified). */
const KIND_SERVER = 2;
/** OTLP span flags: the low byte is the W3C trace flags; these say whether the parent is remote. */
const FLAG_HAS_IS_REMOTE = 0x100;
const FLAG_IS_REMOTE = 0x200;
const TRACE_FLAG_SAMPLED = 1;

/** The OTLP integer range: integral numbers inside it are int_value, the rest double_value. */
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

function writeAnyValue(w: ProtoWriter, v: AttributeValue | undefined): void {
  if (typeof v === 'string') {
    w.tag(1, LEN);
    w.string(v);
  } else if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= MIN_INT64 && v < MAX_INT64) {
      w.tag(3, VARINT);
      w.int64(v);
    } else {
      w.tag(4, I64);
      w.double(v);
    }
  } else if (typeof v === 'boolean') {
    w.tag(2, VARINT);
    w.uint(v ? 1 : 0);
  } else if (Array.isArray(v)) {
    const array = w.begin(5);
    for (const item of v) {
      const at = w.begin(1);
      // null and undefined items are an empty AnyValue, as the SDK writes them.
      if (item !== null && item !== undefined) writeAnyValue(w, item);
      w.end(at);
    }
    w.end(array);
  }
  // Attribute values are strings, numbers, booleans and arrays of them; anything else is left empty.
}

/** One KeyValue in field `field`. */
export function writeKeyValue(w: ProtoWriter, field: number, key: string, value: AttributeValue | undefined): void {
  const kv = w.begin(field);
  w.tag(1, LEN);
  w.string(key);
  const at = w.begin(2);
  writeAnyValue(w, value);
  w.end(at);
  w.end(kv);
}

/** Repeated KeyValue in field `field`. */
export function writeAttributes(w: ProtoWriter, attributes: Attributes, field: number): void {
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    writeKeyValue(w, field, key, attributes[key]);
  }
}

/**
 * A span's fields before its attributes (1 to 8). Ids are hex, or undefined for a random one
 * written as bytes; `parentSpanId` empty or undefined: a root span.
 */
export function writeSpanHead(w: ProtoWriter, traceId: string | undefined, spanId: string | undefined, traceState: string | undefined, parentSpanId: string | undefined, name: string, startNs: bigint, endNs: bigint): void {
  w.tag(1, LEN);
  if (traceId === undefined) w.randomId(16);
  else w.hexBytes(traceId);
  w.tag(2, LEN);
  if (spanId === undefined) w.randomId(8);
  else w.hexBytes(spanId);
  if (traceState) {
    w.tag(3, LEN);
    w.string(traceState);
  }
  if (parentSpanId) {
    w.tag(4, LEN);
    w.hexBytes(parentSpanId);
  }
  w.tag(5, LEN);
  w.string(name);
  w.tag(6, VARINT);
  w.uint(KIND_SERVER);
  w.tag(7, I64);
  w.fixed64(startNs);
  w.tag(8, I64);
  w.fixed64(endNs);
}

/** dropped_attributes_count (field 10): always 0, written as the SDK writes it, after the attributes. */
export function writeNoDroppedAttributes(w: ProtoWriter): void {
  w.tag(10, VARINT);
  w.uint(0);
}

/** A span's fields after its events (12 to 16). */
export function writeSpanTail(w: ProtoWriter, droppedEvents: number, statusCode: number, statusMessage: string | undefined, parentIsRemote: boolean): void {
  w.tag(12, VARINT);
  w.uint(droppedEvents);
  w.tag(14, VARINT); // dropped_links_count (no links: field 13 stays empty)
  w.uint(0);
  const status = w.begin(15);
  if (statusMessage) {
    w.tag(2, LEN);
    w.string(statusMessage);
  }
  w.tag(3, VARINT);
  w.uint(statusCode);
  w.end(status);
  w.tag(16, I32);
  w.fixed32(TRACE_FLAG_SAMPLED | FLAG_HAS_IS_REMOTE | (parentIsRemote ? FLAG_IS_REMOTE : 0));
}

/** One Span message's bytes (without its own tag and length). */
export function writeSpan(w: ProtoWriter, f: CallSpanFacts): void {
  writeSpanHead(w, f.traceId, f.spanId, f.traceState?.serialize(), f.parent?.spanId, f.name, f.startNs, f.endNs);
  writeAttributes(w, f.attributes, 9);
  writeNoDroppedAttributes(w);
  for (const e of f.events) {
    const event = w.begin(11);
    w.tag(1, I64);
    w.fixed64(e.timeNs);
    w.tag(2, LEN);
    w.string(e.name);
    writeAttributes(w, e.attributes, 3);
    w.tag(4, VARINT); // dropped_attributes_count
    w.uint(0);
    w.end(event);
  }
  writeSpanTail(w, f.droppedEvents, f.status.code, f.status.message, f.parent?.isRemote === true);
}

/** Encodes one span into its own buffer; `w` is scratch space reused between spans. */
export function encodeSpan(w: ProtoWriter, f: CallSpanFacts): Buffer {
  encodeSpanInto(w, f);
  return w.take();
}

/** Encodes one span into `w`, from its start: the span is w.buf's first w.pos bytes. */
export function encodeSpanInto(w: ProtoWriter, f: CallSpanFacts): void {
  w.pos = 0;
  writeSpan(w, f);
}

/**
 * What every request of one pipeline starts and ends with: the resource field of ResourceSpans
 * and the scope field of ScopeSpans (with the schema URLs, when set, after the spans).
 */
export interface RequestFrame {
  /** ResourceSpans field 1 (resource), tag and all. */
  resource: Buffer;
  /** ResourceSpans field 3 (schema_url), or empty. */
  resourceTail: Buffer;
  /** ScopeSpans field 1 (scope), tag and all. */
  scope: Buffer;
  /** ScopeSpans field 3 (schema_url), or empty. */
  scopeTail: Buffer;
}

export function requestFrame(resource: Resource, scope: InstrumentationScope): RequestFrame {
  const w = new ProtoWriter(512);
  const r = w.begin(1);
  writeAttributes(w, resource.attributes, 1);
  w.tag(2, VARINT); // dropped_attributes_count
  w.uint(0);
  w.end(r);
  const resourceBytes = w.take();
  if (resource.schemaUrl) {
    w.tag(3, LEN);
    w.string(resource.schemaUrl);
  }
  const resourceTail = w.take();
  const s = w.begin(1);
  w.tag(1, LEN);
  w.string(scope.name);
  if (scope.version) {
    w.tag(2, LEN);
    w.string(scope.version);
  }
  w.end(s);
  const scopeBytes = w.take();
  if (scope.schemaUrl) {
    w.tag(3, LEN);
    w.string(scope.schemaUrl);
  }
  return { resource: resourceBytes, resourceTail, scope: scopeBytes, scopeTail: w.take() };
}

function writeLength(out: Buffer, at: number, v: number): number {
  while (v > 0x7f) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

/**
 * An ExportTraceServiceRequest of encoded spans: one ResourceSpans holding one ScopeSpans.
 * `spanFields` is the spans as ScopeSpans `spans` fields, back to back (span-batch.ts). Every
 * length is known from the parts, so the request is written once into a buffer of its exact size.
 */
export function encodeExportRequest(frame: RequestFrame, spanFields: Uint8Array): Buffer {
  const scopeSpansLen = frame.scope.length + spanFields.length + frame.scopeTail.length;
  const resourceSpansLen = frame.resource.length + 1 + varintSize(scopeSpansLen) + scopeSpansLen + frame.resourceTail.length;
  const out = Buffer.allocUnsafe(1 + varintSize(resourceSpansLen) + resourceSpansLen);
  let at = 0;
  out[at++] = (1 << 3) | LEN; // ExportTraceServiceRequest.resource_spans
  at = writeLength(out, at, resourceSpansLen);
  at += frame.resource.copy(out, at);
  out[at++] = (2 << 3) | LEN; // ResourceSpans.scope_spans
  at = writeLength(out, at, scopeSpansLen);
  at += frame.scope.copy(out, at);
  out.set(spanFields, at);
  at += spanFields.length;
  at += frame.scopeTail.copy(out, at);
  at += frame.resourceTail.copy(out, at);
  return out;
}

/** What a collector may answer: ExportTraceServiceResponse.partial_success. */
export interface ExportTraceResponse {
  partialSuccess?: { rejectedSpans?: number; errorMessage?: string };
}

/**
 * Decodes a collector's answer, for the export delegate's partial-success log (the SDK's
 * response handler writes rejected spans to its diag log, as it did with the SDK's serializer).
 */
export function decodeExportResponse(b: Uint8Array): ExportTraceResponse {
  const out: ExportTraceResponse = {};
  for (let pos = 0; pos < b.length; ) {
    const f = readField(b, pos, b.length);
    pos = f.end;
    if (f.fieldNo !== 1 || f.wireType !== WIRE_LEN) continue;
    const partial: NonNullable<ExportTraceResponse['partialSuccess']> = {};
    for (let p = f.dataStart; p < f.end; ) {
      const g = readField(b, p, f.end);
      p = g.end;
      if (g.fieldNo === 1 && g.wireType === WIRE_VARINT) partial.rejectedSpans = readVarint(b, g.dataStart, g.end)[0];
      else if (g.fieldNo === 2 && g.wireType === WIRE_LEN) partial.errorMessage = Buffer.from(b.buffer, b.byteOffset + g.dataStart, g.end - g.dataStart).toString('utf8');
    }
    out.partialSuccess = partial;
  }
  return out;
}
