/**
 * Every span attribute and metric name critap emits, in one place, so the
 * dashboards, the docs and the code cannot drift apart (dashboards/README.md
 * lists them for people).
 *
 * Span attributes follow the OpenTelemetry semantic conventions for RPC, k8s and
 * container resources where one exists; the few critap-only facts carry a
 * `critap.` prefix.
 */
export const ATTR = {
  rpcSystem: 'rpc.system',
  rpcService: 'rpc.service',
  rpcMethod: 'rpc.method',
  grpcStatusCode: 'rpc.grpc.status_code',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  networkTransport: 'network.transport',
  /** gRPC payload bytes the client sent, 5-byte message prefixes included. */
  requestSize: 'rpc.request.size',
  /** gRPC payload bytes the runtime answered, 5-byte message prefixes included. */
  responseSize: 'rpc.response.size',
  podName: 'k8s.pod.name',
  podNamespace: 'k8s.namespace.name',
  podUid: 'k8s.pod.uid',
  containerId: 'container.id',
  containerName: 'container.name',
  imageName: 'container.image.name',
  podSandboxId: 'critap.pod_sandbox.id',
  /** How the call ended as the proxy saw it: trailers, client-reset, server-reset, … */
  callEnd: 'critap.call.end',
  /** Client process (kubelet, crictl, …) from the unix socket's peer credentials. */
  peerPid: 'critap.peer.pid',
  peerExe: 'critap.peer.exe',
  /** The recorder did not keep the bodies (larger than the capture limit). */
  truncated: 'critap.body_truncated',
  /** Root spans of exported pod lives and client windows (export --format otlp). */
  client: 'critap.client',
  lifeCalls: 'critap.calls',
  lifeErrors: 'critap.errors',
  /** On a call span's link to the kubelet's span (the traceparent it sent). */
  linkKind: 'critap.link',
  /** A fault rule fired on the call (critap proxy --fault): the rule's text, and what it did. */
  faultRule: 'critap.fault.rule',
  faultActions: 'critap.fault.actions',
} as const;

/** Span event on a call a fault rule fired on. */
export const FAULT_EVENT = 'critap.fault.injected';

/** Span event per message of a server stream (semantic conventions' `rpc.message`). */
export const MESSAGE_EVENT = 'rpc.message';
export const EVENT_ATTR = {
  type: 'rpc.message.type',
  id: 'rpc.message.id',
  size: 'rpc.message.uncompressed_size',
  compressedSize: 'rpc.message.compressed_size',
} as const;

/**
 * Metric names as they appear in Prometheus. They are written in Prometheus form
 * on purpose: the OTLP metrics carry the very same names, so one dashboard query
 * works whichever way the numbers travel.
 */
export const METRIC = {
  duration: 'critap_rpc_duration_seconds',
  inFlight: 'critap_rpc_in_flight',
  requestBytes: 'critap_rpc_request_bytes_total',
  responseBytes: 'critap_rpc_response_bytes_total',
  recordingDropped: 'critap_recording_dropped_calls_total',
  spansDropped: 'critap_spans_dropped_total',
  faultsInjected: 'critap_faults_injected_total',
} as const;

/**
 * Metric attribute keys. The Prometheus exporter turns dots into underscores, so
 * these become the labels `rpc_service`, `rpc_method` and `grpc_code`.
 */
export const LABEL = {
  service: 'rpc.service',
  method: 'rpc.method',
  code: 'grpc.code',
} as const;

/**
 * Duration buckets in seconds: 100 µs resolves a fast Version/Status call, 300 s
 * still separates a slow image pull from a stuck one.
 */
export const DURATION_BUCKETS_SECONDS = [
  0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];
