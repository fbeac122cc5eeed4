/**
 * The fixed tables of value format 3 (binary-value.ts): strings most calls store, written as a
 * small number instead. These tables ARE the format: a recording written today must read the
 * same forever, so an entry is never changed, moved or removed once released. A new table (even
 * one entry added) means a new value format number, with this one still read.
 */

/** Methods (CRI runtime.v1, in schema order when the format was made). Code = index + 1. */
const RUNTIME = '/runtime.v1.RuntimeService/';
const IMAGE = '/runtime.v1.ImageService/';
export const METHODS: readonly string[] = Object.freeze([
  ...['Version', 'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus', 'ListPodSandbox', 'StreamPodSandboxes',
    'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'ListContainers', 'StreamContainers', 'ContainerStatus',
    'UpdateContainerResources', 'ReopenContainerLog', 'ExecSync', 'Exec', 'Attach', 'PortForward', 'ContainerStats', 'ListContainerStats',
    'StreamContainerStats', 'PodSandboxStats', 'ListPodSandboxStats', 'StreamPodSandboxStats', 'UpdateRuntimeConfig', 'Status',
    'CheckpointContainer', 'CheckpointPod', 'RestorePod', 'GetContainerEvents', 'ListMetricDescriptors', 'ListPodSandboxMetrics',
    'StreamPodSandboxMetrics', 'RuntimeConfig', 'UpdatePodSandboxResources'].map((m) => RUNTIME + m),
  ...['ListImages', 'StreamImages', 'ImageStatus', 'PullImage', 'RemoveImage', 'ImageFsInfo'].map((m) => IMAGE + m),
]);

/** How a call ended (CallRecord['end']). Code = index. */
export const ENDS: readonly string[] = Object.freeze(['trailers', 'client-reset', 'server-reset', 'connection-closed', 'refused']);

/**
 * Whole headers (name and value) that most calls carry, e.g. every kubelet request's
 * content-type and every OK call's trailers (grpc-go, as in the kubelet, containerd and CRI-O;
 * and grpc-js). Code = index + 1 (0: the name follows).
 */
export const HEADER_PAIRS: ReadonlyArray<readonly [string, string]> = Object.freeze([
  ['content-type', 'application/grpc'],
  ['grpc-status', '0'],
  ['grpc-message', ''],
  ['te', 'trailers'],
  ['grpc-encoding', 'gzip'],
  ['grpc-accept-encoding', 'gzip'],
  ['grpc-accept-encoding', 'identity,deflate,gzip'],
  ['content-type', 'application/grpc+proto'],
  ['grpc-encoding', 'identity'],
] as const);

/** Header names whose values vary (the value follows). Code = HEADER_PAIRS.length + index + 1. */
export const HEADER_NAMES: readonly string[] = Object.freeze([
  'user-agent',
  'grpc-timeout',
  'grpc-status',
  'grpc-message',
  'content-type',
  'grpc-encoding',
  'grpc-accept-encoding',
  'traceparent',
  'tracestate',
  'grpc-status-details-bin',
  'authorization',
  'date',
]);

/** Keys of a call's ids (CallIds) and its peer (Peer). Code = index + 1 (0: the key follows). */
export const FLAT_KEYS: readonly string[] = Object.freeze([
  'podSandboxId',
  'containerId',
  'podName',
  'podNamespace',
  'podUid',
  'containerName',
  'image',
  'pid',
  'exe',
  'address',
]);
