/** critap's telemetry: the live span/metrics sink, OTLP export of recordings, names and dashboard queries. */
export { createTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.js';
export type { SpanQueueOptions } from './span-pipeline.js';
export {
  exportRecordingOtlp,
  type RecordedCall,
  type RecordedCalls,
  type RecordingExportOptions,
} from './export-recording.js';
export { ATTR, METRIC, LABEL, DURATION_BUCKETS_SECONDS } from './names.js';
export { dashboardQueries, resolveVariables, labelValuesSelector, type DashboardQuery } from './dashboard-queries.js';
export { MetricsListenError } from './metrics-server.js';
