/**
 * Builds the observers a proxy feeds: the recorder and telemetry. Their modules load lazily, so a
 * bare `critap proxy` never carries LevelDB or the OpenTelemetry SDK.
 */
import { bodyBytes, type CallRecord, type CallSink } from '../call.js';
import type { Logger } from '../log.js';
import type { Recorder } from '../record/recorder.js';
import type { RedactionRules } from '../record/prepare.js';
import type { SecretMemory } from '../record/secret-memory.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { tracingWanted, type ObserverOptions, type ObserverStats } from './options.js';

export interface Observers {
  sinks: CallSink[];
  /**
   * Hands a finished call to every sink, then gives its body bytes back through `release` (see
   * createObservers) once no sink holds them: at once, or when the recorder has written them.
   */
  onCallEnd(call: CallRecord, onSinkError: (err: unknown) => void): void;
  /**
   * Large bodies come in parts (CallSink.spoolsBodies) when recording: the recorder writes each
   * part to its body file and gives its bytes back through `release`. Telemetry sees only their
   * lengths.
   */
  spoolsBodies: boolean;
  onBodyPart(id: number, part: Buffer): void;
  onBodyAbort(id: number): void;
  tracing: boolean;
  metricsUrl?: string;
  stats(): ObserverStats;
  /** Flushes the recording and the span queue. */
  close(): Promise<void>;
}

/**
 * @param release gives a call's body bytes back to the proxy's capture budget once the observers
 *   are done with them. The recorder holds bodies until they are written; telemetry is done with
 *   a call when its onCallEnd returns (it keeps it only until the next turn of the event loop).
 * @param ownThread the observers run on the observer thread (src/observe/worker.ts), not on the
 *   forwarding path: the recorder then prepares each call as it comes (RecorderOptions.prepareOnArrival).
 */
export async function createObservers(opts: ObserverOptions, logger: Logger, release?: (bytes: number) => void, ownThread = false): Promise<Observers> {
  const sinks: CallSink[] = [];
  let recorder: Recorder | undefined;
  let telemetry: Telemetry | undefined;
  const tracing = tracingWanted(opts);
  // One memory of redacted values for the recorder and live spans (see src/record/secret-memory.ts).
  let secrets: SecretMemory | undefined;
  let rules: RedactionRules | undefined;
  if (opts.record || tracing) {
    const [memory, prepare] = await Promise.all([import('../record/secret-memory.js'), import('../record/prepare.js')]);
    secrets = new memory.SecretMemory();
    rules = prepare.redactionRules({ keepEnv: opts.recordEnv, redactPaths: opts.redact });
  }
  try {
    if (opts.record) {
      const { openRecorder } = await import('../record/recorder.js');
      recorder = await openRecorder({
        dir: opts.record,
        keepEnv: opts.recordEnv,
        redactPaths: opts.redact,
        methods: opts.recordMethods,
        exclude: opts.recordExclude,
        maxCalls: opts.maxCalls,
        maxBytes: opts.maxBytes,
        maxAgeMs: opts.maxAgeMs,
        release,
        logger,
        secrets,
        prepareOnArrival: ownThread,
      });
      sinks.push(recorder);
    }
    if (tracing || opts.metricsListen || opts.otlpMetrics) {
      const { createTelemetry } = await import('../telemetry/telemetry.js');
      telemetry = await createTelemetry({
        upstream: opts.upstream,
        otlpEndpoint: opts.otlpEndpoint,
        tracing,
        metricsListen: opts.metricsListen,
        otlpMetrics: opts.otlpMetrics,
        logger,
      });
      sinks.push(telemetry);
    }
  } catch (err) {
    await recorder?.close().catch(() => {});
    await telemetry?.close().catch(() => {});
    throw err;
  }
  // Calls the recorder could not keep show up in the metrics too.
  let reportedDrops = 0;
  const dropTimer =
    recorder && telemetry
      ? setInterval(() => {
          const dropped = recorder!.stats().dropped;
          if (dropped > reportedDrops) telemetry!.recordDropped(dropped - reportedDrops);
          reportedDrops = dropped;
        }, 1000).unref()
      : undefined;
  const stats = (): ObserverStats => {
    const out: ObserverStats = {};
    if (recorder) {
      const r = recorder.stats();
      out.recorded = r.recorded;
      out.recordDropped = r.dropped;
    }
    if (telemetry?.tracing) out.spansDropped = telemetry.spansDropped;
    return out;
  };
  const liveSpans = telemetry?.tracing === true && secrets !== undefined;
  const learning = liveSpans ? await import('../record/learn-secrets.js') : undefined;
  const result: Observers = {
    sinks,
    onCallEnd(call, onSinkError) {
      // The recorder gives back what it is handed itself, whatever becomes of the call.
      const bytes = release && !recorder ? bodyBytes(call) : 0;
      let forTelemetry = call;
      if (learning && secrets) {
        try {
          learning.learnSecrets(call, rules, secrets);
          forTelemetry = learning.scrubForTelemetry(call, secrets);
        } catch (err) {
          onSinkError(err);
        }
      }
      // Indexed: a for…of here walked an iterator per call.
      for (let i = 0; i < sinks.length; i++) {
        const sink = sinks[i]!;
        try {
          sink.onCallEnd(sink === telemetry ? forTelemetry : call);
        } catch (err) {
          onSinkError(err);
        }
      }
      if (bytes > 0) release!(bytes);
    },
    spoolsBodies: recorder !== undefined,
    onBodyPart(id, part) {
      if (recorder) recorder.onBodyPart(id, part);
      else release?.(part.length);
    },
    onBodyAbort(id) {
      recorder?.onBodyAbort(id);
    },
    tracing: telemetry?.tracing ?? false,
    stats,
    async close() {
      if (dropTimer) clearInterval(dropTimer);
      // Recorder first: its drops are final before telemetry's last export.
      await recorder?.close();
      if (recorder && telemetry) {
        const dropped = recorder.stats().dropped;
        if (dropped > reportedDrops) telemetry.recordDropped(dropped - reportedDrops);
      }
      await telemetry?.close();
    },
  };
  if (telemetry?.metricsUrl) result.metricsUrl = telemetry.metricsUrl;
  return result;
}
