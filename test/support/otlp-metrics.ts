/**
 * OTLP metrics as the test collector (otlp-receiver.ts) keeps them: one ReceivedMetric per
 * metric per Export request, in arrival order, with its resource and scope, and helpers to
 * find the latest export of a metric and the data point carrying given attributes.
 */
import { decodeOtlp, keyValues, type AttrValue, type Obj } from './otlp-codec.js';

export const METRICS_EXPORT_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
export const METRICS_REQUEST = 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest';
export const METRICS_RESPONSE = 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse';

/** OTLP AggregationTemporality. */
export const DELTA = 1;
export const CUMULATIVE = 2;

export interface NumberPoint {
  attributes: Record<string, AttrValue>;
  /** as_double or as_int, whichever the exporter sent. */
  value: number;
  startNs: bigint;
  timeNs: bigint;
}

export interface HistogramPoint {
  attributes: Record<string, AttrValue>;
  count: number;
  sum?: number;
  min?: number;
  max?: number;
  bucketCounts: number[];
  explicitBounds: number[];
  startNs: bigint;
  timeNs: bigint;
}

export interface ReceivedMetric {
  name: string;
  description: string;
  unit: string;
  type: 'gauge' | 'sum' | 'histogram' | 'unknown';
  /** 0 for a gauge. */
  temporality: number;
  /** Sums only. */
  monotonic: boolean;
  /** Gauge and sum points. */
  points: NumberPoint[];
  histogramPoints: HistogramPoint[];
  resource: Record<string, AttrValue>;
  scope: string;
  /** Which accepted Export request (0, 1, …) carried it: metrics of one request share it. */
  request: number;
}

const num = (v: unknown) => (v === undefined ? undefined : Number(v));

function numberPoints(list: Obj[] | undefined): NumberPoint[] {
  return (list ?? []).map((p) => ({
    attributes: keyValues(p.attributes),
    value: Number(p.as_double ?? p.as_int ?? 0),
    startNs: BigInt(p.start_time_unix_nano ?? 0),
    timeNs: BigInt(p.time_unix_nano ?? 0),
  }));
}

function histogramPoints(list: Obj[] | undefined): HistogramPoint[] {
  return (list ?? []).map((p) => ({
    attributes: keyValues(p.attributes),
    count: Number(p.count ?? 0),
    sum: num(p.sum),
    min: num(p.min),
    max: num(p.max),
    bucketCounts: ((p.bucket_counts ?? []) as string[]).map(Number),
    explicitBounds: (p.explicit_bounds ?? []) as number[],
    startNs: BigInt(p.start_time_unix_nano ?? 0),
    timeNs: BigInt(p.time_unix_nano ?? 0),
  }));
}

/** Decodes one ExportMetricsServiceRequest; `request` numbers it among those received. */
export function decodeMetricsRequest(bytes: Buffer, request: number): ReceivedMetric[] {
  const msg = decodeOtlp(METRICS_REQUEST, bytes);
  const out: ReceivedMetric[] = [];
  for (const rm of (msg.resource_metrics ?? []) as Obj[]) {
    const resource = keyValues(rm.resource?.attributes);
    for (const sm of (rm.scope_metrics ?? []) as Obj[]) {
      for (const m of (sm.metrics ?? []) as Obj[]) {
        const data: Obj | undefined = m.gauge ?? m.sum ?? m.histogram;
        out.push({
          name: m.name ?? '',
          description: m.description ?? '',
          unit: m.unit ?? '',
          type: m.gauge ? 'gauge' : m.sum ? 'sum' : m.histogram ? 'histogram' : 'unknown',
          temporality: data?.aggregation_temporality ?? 0,
          monotonic: m.sum?.is_monotonic ?? false,
          points: m.histogram ? [] : numberPoints(data?.data_points),
          histogramPoints: m.histogram ? histogramPoints(data?.data_points) : [],
          resource,
          scope: sm.scope?.name ?? '',
          request,
        });
      }
    }
  }
  return out;
}

/** The most recent export of metric `name`, if any arrived. */
export function latestMetric(metrics: readonly ReceivedMetric[], name: string): ReceivedMetric | undefined {
  for (let i = metrics.length - 1; i >= 0; i--) if (metrics[i]!.name === name) return metrics[i];
  return undefined;
}

/** The point whose attributes include every entry of `attrs` ({} finds a point without attributes too). */
export function pointWith<P extends { attributes: Record<string, AttrValue> }>(points: readonly P[], attrs: Record<string, AttrValue>): P | undefined {
  return points.find((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
}
