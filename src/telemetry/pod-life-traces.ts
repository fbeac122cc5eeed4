/**
 * Spans shaped like a pod's life, for `critap export --format otlp` (the default shape there):
 * one trace per pod sandbox, whose root span runs from the pod's first call (RunPodSandbox) to
 * its last (RemovePodSandbox), every call on the pod and its containers a child of it. Calls of
 * no pod (Version, the PLEG relists, image calls) are grouped per client in windows of
 * CLIENT_WINDOW_NS. A call that carried the kubelet's traceparent keeps it as a span link: the
 * kubelet's span lives in the kubelet's trace, one per call in 1.26.
 *
 * Input spans come from buildCallSpan, so attributes and timing are the live ones; only the
 * trace, the parent and the links change. Roots are sent when their pod is removed, or at the end.
 */
import { SpanKind, SpanStatusCode, type Attributes, type Link, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { CallRecord } from '../call.js';
import { clientName } from '../record/client-name.js';
import { nsToHrTime, type SpanSource } from './call-span.js';
import { ATTR } from './names.js';
import type { PodIds } from './pod-links.js';
import { randomSpanId, randomTraceId } from './trace-ids.js';

export const CLIENT_WINDOW_NS = 60n * 1_000_000_000n;

interface Life {
  traceId: string;
  spanId: string;
  name: string;
  startNs: bigint;
  endNs: bigint;
  calls: number;
  errors: number;
  attributes: Attributes;
}

export interface LifeCounts {
  podLives: number;
  clientWindows: number;
}

export class PodLifeTraces {
  private readonly pods = new Map<string, Life>();
  private readonly windows = new Map<string, Life>();
  readonly counts: LifeCounts = { podLives: 0, clientWindows: 0 };

  constructor(private readonly source: SpanSource) {}

  /** The call's span moved into its life's trace, plus any root span that just ended. */
  add(call: CallRecord, ids: PodIds, span: ReadableSpan): ReadableSpan[] {
    const endNs = call.startNs + BigInt(Math.round(call.durationNs));
    const sandbox = ids.podSandboxId;
    const out: ReadableSpan[] = [];
    let life: Life;
    if (sandbox) {
      life = this.pods.get(sandbox) ?? this.newPod(sandbox, ids, call.startNs);
      // The pod's names may arrive after its first call (a status answer names it).
      if (!life.attributes[ATTR.podName] && ids.podName) this.namePod(life, ids);
    } else {
      const client = clientName(call);
      const open = this.windows.get(client);
      if (open && call.startNs >= open.startNs + CLIENT_WINDOW_NS) {
        out.push(this.root(open));
        this.windows.delete(client);
      }
      life = this.windows.get(client) ?? this.newWindow(client, call.startNs);
    }
    life.calls++;
    if (call.status.code !== 0) life.errors++;
    if (endNs > life.endNs) life.endNs = endNs;
    out.push(this.reparent(span, life));
    if (sandbox && call.method.endsWith('/RemovePodSandbox') && call.status.code === 0) {
      out.push(this.root(life));
      this.pods.delete(sandbox);
    }
    return out;
  }

  /** Roots of lives still open when the recording ends (pods never removed, the last windows). */
  finish(): ReadableSpan[] {
    const out = [...this.pods.values(), ...this.windows.values()].map((l) => this.root(l));
    this.pods.clear();
    this.windows.clear();
    return out;
  }

  private newPod(sandbox: string, ids: PodIds, startNs: bigint): Life {
    const life: Life = { traceId: randomTraceId(), spanId: randomSpanId(), name: `pod sandbox ${sandbox.slice(0, 13)}`, startNs, endNs: startNs, calls: 0, errors: 0, attributes: { [ATTR.podSandboxId]: sandbox } };
    this.namePod(life, ids);
    this.pods.set(sandbox, life);
    this.counts.podLives++;
    return life;
  }

  private namePod(life: Life, ids: PodIds): void {
    if (ids.podName) {
      life.attributes[ATTR.podName] = ids.podName;
      life.name = `pod ${ids.podNamespace ? `${ids.podNamespace}/` : ''}${ids.podName}`;
    }
    if (ids.podNamespace) life.attributes[ATTR.podNamespace] = ids.podNamespace;
    if (ids.podUid) life.attributes[ATTR.podUid] = ids.podUid;
  }

  private newWindow(client: string, startNs: bigint): Life {
    const life: Life = { traceId: randomTraceId(), spanId: randomSpanId(), name: `calls of ${client}`, startNs, endNs: startNs, calls: 0, errors: 0, attributes: { [ATTR.client]: client } };
    this.windows.set(client, life);
    this.counts.clientWindows++;
    return life;
  }

  private reparent(span: ReadableSpan, life: Life): ReadableSpan {
    const own = span.spanContext();
    const context: SpanContext = { ...own, traceId: life.traceId };
    const parent: SpanContext = { traceId: life.traceId, spanId: life.spanId, traceFlags: 1 };
    const links: Link[] = [];
    // The kubelet's span (its traceparent): linked, since it sits in the kubelet's own trace.
    if (span.parentSpanContext) links.push({ context: span.parentSpanContext, attributes: { [ATTR.linkKind]: 'client span (traceparent)' } });
    return { ...span, spanContext: () => context, parentSpanContext: parent, links };
  }

  private root(life: Life): ReadableSpan {
    const context: SpanContext = { traceId: life.traceId, spanId: life.spanId, traceFlags: 1 };
    const ns = life.endNs - life.startNs;
    return {
      name: life.name,
      kind: SpanKind.INTERNAL,
      spanContext: () => context,
      parentSpanContext: undefined,
      startTime: nsToHrTime(life.startNs),
      endTime: nsToHrTime(life.endNs),
      duration: nsToHrTime(ns),
      ended: true,
      status: { code: SpanStatusCode.UNSET },
      attributes: { ...life.attributes, [ATTR.lifeCalls]: life.calls, [ATTR.lifeErrors]: life.errors },
      links: [],
      events: [],
      resource: this.source.resource,
      instrumentationScope: this.source.scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  }
}
