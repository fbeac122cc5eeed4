/**
 * The live pipeline's span encoder: a finished call straight to its OTLP Span bytes, the same
 * bytes as callSpanFacts (call-span.ts) followed by encodeSpan (otlp-span-encoder.ts) give, a
 * test compares them call by call.
 *
 * Why a second way to the same bytes: on the observer thread, building each span's facts (an
 * attributes object of a dozen keys, copied from the upstream's, the method split into service
 * and name, a status object) and then walking them again to encode them was about half of a
 * traced call's span cost, and most of its garbage. Here what a method's spans share (its name,
 * and the upstream and rpc.* attributes, encoded) is encoded once per method, and the rest is
 * written from the call record as it is read.
 *
 * It applies where nothing can tell the two ways apart: a sampler of critap's own (they decide
 * from the parent and the trace id, never from attributes, and add none), a unary call with no
 * fault (no span events). Every other call takes callSpanFacts.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { statusName, type CallRecord } from '../call.js';
import { splitMethodPath, spanName } from './call-attributes.js';
import { callSpanFacts, type SpanInput, type SpanSource } from './call-span.js';
import { ATTR } from './names.js';
import { encodeSpanInto, writeAttributes, writeKeyValue, writeNoDroppedAttributes, writeSpanHead, writeSpanTail } from './otlp-span-encoder.js';
import type { PodIds } from './pod-links.js';
import { ProtoWriter } from './proto-writer.js';
import { AlwaysOff, AlwaysOn, ParentBased, RECORD_AND_SAMPLED, TraceIdRatio, type SpanSampler } from './samplers.js';
import { parseTraceparent, randomTraceId } from './trace-ids.js';
import { parentContext } from './trace-parent.js';

/** What a sampler of critap's own is shown as the span's attributes: they never look. */
const NO_ATTRIBUTES: Attributes = Object.freeze({});
/** Methods whose shared parts are kept; a client sending endless odd paths gets no more. */
const MAX_METHODS = 512;
/** Values kept per attribute of few values. */
const MAX_VALUES = 256;

/** The attributes a call's span gets after the shared ones, in callAttributes' order. */
const PER_CALL_KEYS: readonly string[] = [
  ATTR.grpcStatusCode,
  ATTR.requestSize,
  ATTR.responseSize,
  ATTR.callEnd,
  ATTR.podName,
  ATTR.podNamespace,
  ATTR.podUid,
  ATTR.containerId,
  ATTR.containerName,
  ATTR.imageName,
  ATTR.podSandboxId,
  ATTR.peerPid,
  ATTR.peerExe,
  ATTR.truncated,
];

/** True for critap's samplers (samplers.ts), which decide without the span's attributes and add none. */
export function decidesWithoutAttributes(sampler: SpanSampler): boolean {
  if (sampler instanceof ParentBased) return decidesWithoutAttributes(sampler.root);
  return sampler instanceof AlwaysOn || sampler instanceof AlwaysOff || sampler instanceof TraceIdRatio;
}

/** True when the sampler may read the trace id (a ratio sampler): else a random one need never be text. */
export function readsTraceId(sampler: SpanSampler): boolean {
  if (sampler instanceof ParentBased) return readsTraceId(sampler.root);
  return !(sampler instanceof AlwaysOn || sampler instanceof AlwaysOff);
}

/** What every span of one method shares. */
interface MethodParts {
  name: string;
  /** Its attributes before the per-call ones (the upstream's, rpc.system, rpc.service, rpc.method), encoded as field 9. */
  shared: Buffer;
}

export class LiveSpanEncoder {
  private readonly direct: boolean;
  private readonly traceIdRead: boolean;
  private readonly methods = new Map<string, MethodParts>();
  /**
   * Encoded KeyValues of the attributes that take few values (status code, how the call ended,
   * the client's pid and executable), by attribute and value: copied, not encoded, call after call.
   */
  private readonly few = new Map<string, Map<string | number, Buffer>>();
  private readonly scratch = new ProtoWriter(256);
  /** The upstream attributes the cached parts were made with (telemetry passes the same object every call). */
  private upstream: Attributes | undefined;
  private upstreamClashes = false;

  constructor(private readonly source: SpanSource) {
    this.direct = decidesWithoutAttributes(source.sampler);
    this.traceIdRead = readsTraceId(source.sampler);
  }

  /** The call's Span bytes, or undefined when the sampler leaves it out. `w` is scratch space. */
  encode(w: ProtoWriter, input: SpanInput): Buffer | undefined {
    return this.encodeInto(w, input) ? w.take() : undefined;
  }

  /**
   * Writes the call's Span into `w` from its start (the span is w.buf's first w.pos bytes), or
   * returns false when the sampler leaves it out. The live pipeline copies it straight into its
   * batch (span-batch.ts): no buffer per span.
   */
  encodeInto(w: ProtoWriter, input: SpanInput): boolean {
    const { call } = input;
    if (input.upstream !== this.upstream) this.newUpstream(input.upstream);
    if (!this.direct || this.upstreamClashes || input.serverStreaming || call.fault) {
      const facts = callSpanFacts(this.source, input);
      if (!facts) return false;
      encodeSpanInto(w, facts);
      return true;
    }
    const parts = this.partsOf(call.method, w);
    const context = parentContext(call.requestMetadata);
    const parent = trace.getSpanContext(context);
    const sent = call.propagatedTraceparent ? parseTraceparent(call.propagatedTraceparent) : undefined;
    // A new trace's id is made as text only for a sampler that reads it; else it is written as random bytes.
    const traceId = parent?.traceId ?? sent?.traceId ?? (this.traceIdRead ? randomTraceId() : undefined);
    const sampling = this.source.sampler.shouldSample(context, traceId ?? '', parts.name, SpanKind.SERVER, NO_ATTRIBUTES, []);
    if (sampling.decision !== RECORD_AND_SAMPLED) return false;
    w.pos = 0;
    const endNs = call.startNs + BigInt(Math.round(call.durationNs));
    writeSpanHead(w, traceId, sent?.spanId, (sampling.traceState ?? parent?.traceState)?.serialize(), parent?.spanId, parts.name, call.startNs, endNs);
    w.raw(parts.shared);
    this.writeCallAttributes(w, call, input.ids);
    writeNoDroppedAttributes(w);
    const code = call.status.code;
    // As callSpanFacts: every non-OK code is an error, named when the runtime gave no message.
    if (code === 0) writeSpanTail(w, 0, SpanStatusCode.UNSET, undefined, parent?.isRemote === true);
    else writeSpanTail(w, 0, SpanStatusCode.ERROR, call.status.message || statusName(code), parent?.isRemote === true);
    return true;
  }

  private newUpstream(upstream: Attributes): void {
    this.upstream = upstream;
    this.methods.clear();
    // An upstream attribute named like a per-call one would move that key's place: not this path's to mimic.
    this.upstreamClashes = Object.keys(upstream).some((k) => PER_CALL_KEYS.includes(k));
  }

  private partsOf(method: string, scratch: ProtoWriter): MethodParts {
    let parts = this.methods.get(method);
    if (parts) return parts;
    // The same object callAttributes starts from, up to rpc.method.
    const { service, method: name } = splitMethodPath(method);
    const shared: Attributes = Object.assign({}, this.upstream);
    shared[ATTR.rpcSystem] = 'grpc';
    shared[ATTR.rpcService] = service;
    shared[ATTR.rpcMethod] = name;
    scratch.pos = 0;
    writeAttributes(scratch, shared, 9);
    parts = { name: spanName(method), shared: scratch.take() };
    if (this.methods.size < MAX_METHODS) this.methods.set(method, parts);
    return parts;
  }

  /** callAttributes' keys after rpc.method, in its order, written as they are found. */
  private writeCallAttributes(w: ProtoWriter, call: CallRecord, ids: PodIds): void {
    this.writeFew(w, ATTR.grpcStatusCode, call.status.code);
    writeKeyValue(w, 9, ATTR.requestSize, call.requestBytes);
    writeKeyValue(w, 9, ATTR.responseSize, call.responseBytes);
    this.writeFew(w, ATTR.callEnd, call.end);
    if (ids.podName) writeKeyValue(w, 9, ATTR.podName, ids.podName);
    if (ids.podNamespace) writeKeyValue(w, 9, ATTR.podNamespace, ids.podNamespace);
    if (ids.podUid) writeKeyValue(w, 9, ATTR.podUid, ids.podUid);
    if (ids.containerId) writeKeyValue(w, 9, ATTR.containerId, ids.containerId);
    if (ids.containerName) writeKeyValue(w, 9, ATTR.containerName, ids.containerName);
    if (ids.image) writeKeyValue(w, 9, ATTR.imageName, ids.image);
    if (ids.podSandboxId) writeKeyValue(w, 9, ATTR.podSandboxId, ids.podSandboxId);
    if (call.peer?.pid !== undefined) this.writeFew(w, ATTR.peerPid, call.peer.pid);
    if (call.peer?.exe) this.writeFew(w, ATTR.peerExe, call.peer.exe);
    if (call.truncated) writeKeyValue(w, 9, ATTR.truncated, true);
  }

  /** One attribute of few values: its KeyValue copied from the cache, encoded into it the first time. */
  private writeFew(w: ProtoWriter, key: string, value: string | number): void {
    let byValue = this.few.get(key);
    if (!byValue) this.few.set(key, (byValue = new Map()));
    let kv = byValue.get(value);
    if (!kv) {
      const s = this.scratch;
      s.pos = 0;
      writeKeyValue(s, 9, key, value);
      kv = s.take();
      // Bounded: past this many values (pids of many short-lived clients), encode each time.
      if (byValue.size < MAX_VALUES) byValue.set(value, kv);
    }
    w.raw(kv);
  }
}
