import type { Command } from './main.js';
import { checkMethodPattern } from '../cri/method-pattern.js';
import { parseEndpoint } from '../endpoint.js';
import { UsageError, durationFlag, intFlag, parseCommandArgs, sizeFlag } from './args.js';
import { loadConfigFile, mergeSettings, settingsFromEnv, type SettingSpec, type Settings } from '../config.js';
import { createLogger, isLogLevel } from '../log.js';
import { startObservedProxy } from '../proxy/observed-proxy.js';
import { catchStopSignals, startOrRelease } from './until-signal.js';
import { parseFaultRule } from '../fault/rule.js';
import { startAdmin, type AdminServer } from '../fault/admin.js';

/** Every proxy setting: its flag, its CRITAP_* variable and its config-file key share one name. */
const SETTINGS: Record<string, SettingSpec> = {
  listen: { kind: 'string', env: 'CRITAP_LISTEN' },
  upstream: { kind: 'string', env: 'CRITAP_UPSTREAM' },
  'socket-mode': { kind: 'string', env: 'CRITAP_SOCKET_MODE' },
  grace: { kind: 'string', env: 'CRITAP_GRACE' },
  'log-level': { kind: 'string', env: 'CRITAP_LOG_LEVEL' },
  'log-json': { kind: 'boolean', env: 'CRITAP_LOG_JSON' },
  record: { kind: 'string', env: 'CRITAP_RECORD' },
  'record-env': { kind: 'boolean', env: 'CRITAP_RECORD_ENV' },
  'record-methods': { kind: 'list', env: 'CRITAP_RECORD_METHODS' },
  'record-exclude': { kind: 'list', env: 'CRITAP_RECORD_EXCLUDE' },
  redact: { kind: 'list', env: 'CRITAP_REDACT' },
  'max-calls': { kind: 'string', env: 'CRITAP_MAX_CALLS' },
  'max-bytes': { kind: 'string', env: 'CRITAP_MAX_BYTES' },
  'max-age': { kind: 'string', env: 'CRITAP_MAX_AGE' },
  'otlp-endpoint': { kind: 'string' }, // OTEL_EXPORTER_OTLP_* are read by the telemetry itself
  'metrics-listen': { kind: 'string', env: 'CRITAP_METRICS_LISTEN' },
  'otlp-metrics': { kind: 'boolean', env: 'CRITAP_OTLP_METRICS' },
  'propagate-trace': { kind: 'boolean', env: 'CRITAP_PROPAGATE_TRACE' },
  'capture-limit': { kind: 'string', env: 'CRITAP_CAPTURE_LIMIT' },
  'capture-budget': { kind: 'string', env: 'CRITAP_CAPTURE_BUDGET' },
  'no-peer-lookup': { kind: 'boolean', env: 'CRITAP_NO_PEER_LOOKUP' },
  // Rules hold commas themselves: a list in YAML or repeated flags, never split (no env variable).
  fault: { kind: 'list' },
  admin: { kind: 'string', env: 'CRITAP_ADMIN' },
};

const FLAGS = {
  config: { type: 'string' },
  ...Object.fromEntries(
    Object.entries(SETTINGS).map(([k, s]) => [k, s.kind === 'boolean' ? { type: 'boolean' } : s.kind === 'list' ? { type: 'string', multiple: true } : { type: 'string' }]),
  ),
} as const;

const HELP = `Usage: critap proxy --listen <endpoint> --upstream <endpoint> [flags]

Listens where the kubelet (or crictl) connects and forwards every CRI call to the real runtime,
byte for byte, while it observes each call: recording (--record), spans (--otlp-endpoint) and
Prometheus metrics (--metrics-listen).

Endpoints: unix:///path/to.sock, /path/to.sock or tcp://host:port.

Flags (each also settable as CRITAP_<NAME> in the environment, or as <name>: in --config YAML;
flags win over the environment, which wins over the file):
  --listen <endpoint>        where clients connect (created with its parent folder)
  --upstream <endpoint>      the runtime's socket, e.g. unix:///run/containerd/containerd.sock
  --config <file.yaml>       settings file (or CRITAP_CONFIG)
  --socket-mode <octal>      mode of the listening socket (default 0660; created with it)
  --grace <duration>         on SIGTERM/SIGINT, how long in-flight calls may finish (default 10s)
  --log-level <level>        debug, info, warn or error (default info)
  --log-json                 JSON log lines
  --record <dir>             record every call into this recording folder
  --record-env               keep container env values (redacted by default: Secrets arrive there)
  --record-methods <M>       record only these methods (repeatable or comma-separated; any case;
                             a name that is no CRI method is an error)
  --record-exclude <M>       never record these methods, e.g. ListContainerStats
  --redact <path>            extra field to redact, e.g. 'runtime.v1.CreateContainerRequest:config.annotations'
  --max-calls <n>            keep at most n calls (oldest go first)
  --max-bytes <size>         keep at most this much, e.g. 512M
  --max-age <duration>       drop calls older than this, e.g. 24h
  --otlp-endpoint <url>      send spans over OTLP/gRPC, e.g. http://127.0.0.1:4317
                             (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER work too)
  --metrics-listen <addr>    serve Prometheus metrics at http://<addr>/metrics, e.g. 127.0.0.1:9464
  --otlp-metrics             also push metrics over OTLP
  --propagate-trace          send the runtime critap's span as its parent (rewrites request header
                             blocks); default: the client's traceparent passes through unchanged
  --capture-limit <size>     largest message body kept for recording/tracing (default 16M, the kubelet's
                             own limit); larger messages are forwarded whole and recorded by size only
  --capture-budget <size>    message bodies held for recording/tracing at once, until written (default
                             32M); past it bodies are forwarded but not kept, so memory stays bounded
  --no-peer-lookup           do not look up the client's pid/executable (uses perl for SO_PEERCRED)
  --fault <rule>             inject a fault, repeatable (fault: list in YAML); a rule is key=value,…:
                             method=<Method> (required), optional pod= namespace= container= image=;
                             then one or more of error=<code>[,message=<text>], delay=<duration>,
                             delay-response=<duration>, hang, reset; when: percent= count= after=
                             (with any --fault or --admin, request header blocks are re-encoded)
  --admin <endpoint>         control socket (unix, mode 0600) for critap fault list|add|remove|clear

Examples:
  critap proxy --listen unix:///run/critap/critap.sock --upstream unix:///run/containerd/containerd.sock
  critap proxy --listen /run/critap/critap.sock --upstream /run/containerd/containerd.sock \\
      --record /var/lib/critap/rec --record-exclude ListContainerStats --max-age 24h
  critap proxy --config /etc/critap/config.yaml --metrics-listen 127.0.0.1:9464 \\
      --otlp-endpoint http://127.0.0.1:4317
  CRITAP_UPSTREAM=unix:///run/containerd/containerd.sock critap proxy --listen /tmp/critap.sock
  critap proxy --listen /tmp/critap.sock --upstream /run/containerd/containerd.sock \
      --fault 'method=RunPodSandbox,error=UNAVAILABLE,message=injected,count=2' --admin /tmp/critap-admin.sock
`;

function flagSettings(values: Record<string, unknown>): Settings {
  const out: Settings = {};
  for (const [key, spec] of Object.entries(SETTINGS)) {
    const v = values[key];
    if (v === undefined) continue;
    if (key === 'fault') out[key] = (v as string[]).map((r) => r.trim()).filter(Boolean);
    else if (spec.kind === 'list') out[key] = (v as string[]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    else out[key] = v as string | boolean;
  }
  return out;
}

function str(s: Settings, key: string): string | undefined {
  const v = s[key];
  return typeof v === 'string' ? v : undefined;
}

export const command: Command = {
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, FLAGS as never);
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const v = values as Record<string, unknown>;
    const configPath = (v['config'] as string | undefined) ?? process.env['CRITAP_CONFIG'];
    const s = mergeSettings(flagSettings(v), settingsFromEnv(SETTINGS), configPath ? loadConfigFile(configPath, SETTINGS) : {});

    const listen = str(s, 'listen');
    const upstream = str(s, 'upstream');
    if (!listen) throw new UsageError('--listen is required (or CRITAP_LISTEN, or listen: in --config)');
    if (!upstream) throw new UsageError('--upstream is required (or CRITAP_UPSTREAM, or upstream: in --config)');
    const level = str(s, 'log-level') ?? 'info';
    if (!isLogLevel(level)) throw new UsageError(`--log-level must be debug, info, warn or error, not "${level}"`);
    const modeText = str(s, 'socket-mode') ?? '0660';
    if (!/^0?[0-7]{3}$/.test(modeText)) throw new UsageError(`--socket-mode wants an octal mode like 0660, got "${modeText}"`);
    const graceMs = durationFlag('grace', str(s, 'grace')) ?? 10_000;
    const maxCallsText = str(s, 'max-calls');
    // Checked here, not only in the recorder's thread, so a typo is a usage error before anything starts.
    parseEndpoint(listen);
    parseEndpoint(upstream);
    for (const key of ['record-methods', 'record-exclude']) {
      for (const m of (s[key] as string[] | undefined) ?? []) checkMethodPattern(m, `--${key}`);
    }
    const faultRules = (s['fault'] as string[] | undefined) ?? [];
    for (const rule of faultRules) {
      try {
        parseFaultRule(rule);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    const adminAt = str(s, 'admin');
    if (adminAt !== undefined) parseEndpoint(adminAt);
    const logger = createLogger({ level, json: s['log-json'] === true });

    // From here on a stop signal is ours: it may come while the socket is up but start-up still runs.
    const signals = catchStopSignals();
    const proxy = await startOrRelease(signals, () => startObservedProxy({
      listen,
      upstream,
      socketMode: Number.parseInt(modeText, 8),
      captureLimit: sizeFlag('capture-limit', str(s, 'capture-limit')),
      captureBudget: sizeFlag('capture-budget', str(s, 'capture-budget')),
      peerLookup: s['no-peer-lookup'] !== true,
      logger,
      logLevel: level,
      logJson: s['log-json'] === true,
      record: str(s, 'record'),
      recordEnv: s['record-env'] === true,
      recordMethods: s['record-methods'] as string[] | undefined,
      recordExclude: s['record-exclude'] as string[] | undefined,
      redact: s['redact'] as string[] | undefined,
      maxCalls: maxCallsText === undefined ? undefined : intFlag('max-calls', maxCallsText, 0),
      maxBytes: sizeFlag('max-bytes', str(s, 'max-bytes')),
      maxAgeMs: durationFlag('max-age', str(s, 'max-age')),
      otlpEndpoint: str(s, 'otlp-endpoint'),
      metricsListen: str(s, 'metrics-listen'),
      otlpMetrics: s['otlp-metrics'] === true,
      propagateTrace: s['propagate-trace'] === true,
      faults: faultRules.length > 0 || adminAt !== undefined ? faultRules : undefined,
    }));
    let admin: AdminServer | undefined;
    try {
      if (adminAt !== undefined) admin = await startAdmin(adminAt, proxy.faults!, logger);
    } catch (err) {
      await proxy.close(0);
      throw err;
    }
    logger.info('critap proxy started', {
      listen: proxy.endpoint,
      upstream: proxy.upstream,
      recording: str(s, 'record') ?? 'off',
      tracing: proxy.tracing ? (str(s, 'otlp-endpoint') ?? 'OTEL_* environment') : 'off',
      metrics: [proxy.metricsUrl, s['otlp-metrics'] === true ? 'OTLP push' : undefined].filter(Boolean).join(', ') || 'off',
      propagateTrace: s['propagate-trace'] === true,
      faults: faultRules.length,
      admin: adminAt ?? 'off',
      pid: process.pid,
    });

    return signals.runUntil(
      logger,
      graceMs,
      async () => {
        await admin?.close();
        await proxy.close(graceMs);
        return { ...(await proxy.observerStats()) };
      },
      'critap proxy stopped',
    );
  },
};
