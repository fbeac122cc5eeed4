/**
 * critap's metrics, fed from the sink. This runs for every kubelet call, so the
 * per-call work is a handful of map lookups and three SDK `record`/`add` calls
 * with attribute objects that are built once per (method, code) and reused.
 */
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import { statusName, type CallRecord } from '../call.js';
import { splitMethodPath } from './call-attributes.js';
import { DURATION_BUCKETS_SECONDS, LABEL, METRIC } from './names.js';

/**
 * A client can send any path and the proxy forwards it; the CRI has under 50
 * methods per version. Past this many distinct paths, new ones are counted
 * under `rpc_method="_other"` so a misbehaving client cannot blow up the series.
 */
const MAX_METHODS = 256;
const OTHER = '_other';

interface MethodLabels {
  base: Attributes;
  byCode: Map<number, Attributes>;
  /** Calls begun and not yet ended (read by the in-flight gauge's callback). */
  open: number;
}

export class CallMetrics {
  private readonly duration: Histogram;
  private readonly requestBytes: Counter;
  private readonly responseBytes: Counter;
  private readonly recordingDropped: Counter;
  private readonly faultsInjected: Counter;
  private readonly methods = new Map<string, MethodLabels>();

  constructor(meter: Meter, spansDropped: () => number) {
    this.duration = meter.createHistogram(METRIC.duration, {
      description: 'Time from the request headers to the end of the CRI call, as the proxy saw it',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS },
    });
    this.requestBytes = meter.createCounter(METRIC.requestBytes, {
      description: 'gRPC payload bytes sent by CRI clients (5-byte message prefixes included)',
      unit: 'By',
    });
    this.responseBytes = meter.createCounter(METRIC.responseBytes, {
      description: 'gRPC payload bytes answered by the runtime (5-byte message prefixes included)',
      unit: 'By',
    });
    this.recordingDropped = meter.createCounter(METRIC.recordingDropped, {
      description: 'Calls the recorder could not store (queue full or store error)',
    });
    this.faultsInjected = meter.createCounter(METRIC.faultsInjected, {
      description: 'Calls a fault rule (critap proxy --fault) acted on, by rule, method and action',
    });
    this.recordingDropped.add(0); // present at 0 from the start, so alerts on it have a series to watch
    meter
      .createObservableUpDownCounter(METRIC.inFlight, { description: 'CRI calls in progress through the proxy' })
      .addCallback((result) => {
        for (const l of this.methods.values()) result.observe(l.open, l.base);
      });
    meter
      .createObservableCounter(METRIC.spansDropped, {
        description: 'Spans lost before reaching the collector (queue full, export failed)',
      })
      .addCallback((result) => result.observe(spansDropped()));
  }

  callStarted(path: string): void {
    this.labels(path).open++;
  }

  callEnded(call: CallRecord): void {
    const labels = this.labels(call.method);
    // Only undo a start we saw: a sink attached mid-call must not drive the gauge negative.
    if (labels.open > 0) labels.open--;
    let withCode = labels.byCode.get(call.status.code);
    if (!withCode) {
      withCode = { ...labels.base, [LABEL.code]: statusName(call.status.code) };
      labels.byCode.set(call.status.code, withCode);
    }
    this.duration.record(call.durationNs / 1e9, withCode);
    this.requestBytes.add(call.requestBytes, labels.base);
    this.responseBytes.add(call.responseBytes, labels.base);
    if (call.fault) {
      const method = call.method.slice(call.method.lastIndexOf('/') + 1);
      for (const action of call.fault.actions) this.faultsInjected.add(1, { rule: call.fault.rule, method, action });
    }
  }

  recordDropped(n: number): void {
    if (n > 0) this.recordingDropped.add(n);
  }

  private labels(path: string): MethodLabels {
    let l = this.methods.get(path);
    if (l) return l;
    if (this.methods.size >= MAX_METHODS) {
      l = this.methods.get(OTHER);
      if (l) return l;
      l = { base: { [LABEL.service]: OTHER, [LABEL.method]: OTHER }, byCode: new Map(), open: 0 };
      this.methods.set(OTHER, l);
      return l;
    }
    const { service, method } = splitMethodPath(path);
    l = { base: { [LABEL.service]: service, [LABEL.method]: method }, byCode: new Map(), open: 0 };
    this.methods.set(path, l);
    return l;
  }
}
