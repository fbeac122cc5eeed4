/**
 * critap as a library: start a recording proxy or a replaying mock runtime from a test, read
 * recordings, or observe calls with your own sink.
 *
 *   import { proxy, openRecording } from 'critap';
 *   const p = await proxy({ upstream: 'unix:///run/containerd/containerd.sock', record: './rec' });
 *   // point your CRI client at p.endpoint …
 *   await p.close();
 */
import { startObservedProxy, type ObservedProxy, type ObservedProxyOptions } from './proxy/observed-proxy.js';
import { makeTempSocket } from './temp-socket.js';

export type { CallRecord, CallSink, CallStart, CallStatus, CallEnd, Header, Peer, TimedMessage } from './call.js';
export { statusName } from './call.js';
export { parseEndpoint, formatEndpoint, type Endpoint } from './endpoint.js';
export { createLogger, type Logger, type LogLevel } from './log.js';
export { startProxy, type ProxyOptions, type RunningProxy, type ProxyStats } from './proxy/proxy.js';
export type { ObservedProxy, ObservedProxyOptions } from './proxy/observed-proxy.js';
export {
  openRecording,
  createRecording,
  openRecorder,
  findRecordings,
  RecordingError,
  type StoredCall,
  type CallFilter,
  type RecordingInfo,
  type RecorderOptions,
} from './record/index.js';
export { lookupMethod, allMethods, resolveMethodName, type MethodInfo } from './cri/methods.js';
export { decodeMessage, encodeMessage, CodecError } from './cri/codec.js';
export { createTelemetry, type Telemetry, type TelemetryOptions } from './telemetry/telemetry.js';
export { exportRecordingOtlp } from './telemetry/export-recording.js';
export { replay, type ReplayOptions, type ReplayRuntime, type Miss, type MatchMode, type OnExhausted } from './replay/index.js';

export interface ProxyApiOptions extends Omit<ObservedProxyOptions, 'listen'> {
  /** Where clients connect; default a fresh unix socket in a temp folder. */
  listen?: string;
}

/** A recording/tracing proxy for tests: `await proxy({ upstream, record: dir })`, then use `.endpoint`. */
export async function proxy(opts: ProxyApiOptions): Promise<ObservedProxy> {
  if (opts.listen !== undefined) return startObservedProxy({ ...opts, listen: opts.listen });
  // The temp folder is ours, not the user's: it goes when the proxy closes or fails to start.
  const socket = await makeTempSocket('critap-', 'critap.sock');
  let running: ObservedProxy;
  try {
    running = await startObservedProxy({ ...opts, listen: `unix://${socket.path}` });
  } catch (err) {
    await socket.remove();
    throw err;
  }
  return {
    ...running,
    close: (graceMs?: number) => running.close(graceMs).finally(() => socket.remove()),
  };
}
