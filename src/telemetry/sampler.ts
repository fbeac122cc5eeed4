/**
 * The span sampler, built from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG the way the
 * specification defines them (default `parentbased_always_on`).
 *
 * critap builds it itself, rather than letting the SDK read the environment, because with
 * `--propagate-trace` the decision is needed twice: on the forwarding thread, to set the
 * sampled flag of the traceparent sent to the runtime, and on the observer thread, where the
 * span is built. Every sampler here decides from the parent and the trace id alone, so both
 * sides reach the same decision for the same call. The samplers are critap's own (samplers.ts),
 * deciding as the SDK's of the same names.
 */
import { AlwaysOff, AlwaysOn, ParentBased, TraceIdRatio, type SpanSampler } from './samplers.js';

const NAMES = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

/** Unknown names fall back to the default, as the specification asks; `warn` hears about it. */
export function samplerFromEnv(env: NodeJS.ProcessEnv = process.env, warn: (msg: string) => void = () => {}): SpanSampler {
  const name = (env['OTEL_TRACES_SAMPLER'] ?? '').trim().toLowerCase() || 'parentbased_always_on';
  const ratio = () => {
    const raw = env['OTEL_TRACES_SAMPLER_ARG']?.trim();
    const v = raw ? Number(raw) : 1;
    if (!Number.isFinite(v) || v < 0 || v > 1) {
      warn(`critap: OTEL_TRACES_SAMPLER_ARG "${raw}" is not a ratio between 0 and 1; using 1`);
      return 1;
    }
    return v;
  };
  switch (name) {
    case 'always_on':
      return new AlwaysOn();
    case 'always_off':
      return new AlwaysOff();
    case 'traceidratio':
      return new TraceIdRatio(ratio());
    case 'parentbased_always_off':
      return new ParentBased(new AlwaysOff());
    case 'parentbased_traceidratio':
      return new ParentBased(new TraceIdRatio(ratio()));
    case 'parentbased_always_on':
      return new ParentBased(new AlwaysOn());
    default:
      warn(`critap: OTEL_TRACES_SAMPLER "${name}" is not one of ${NAMES.join(', ')}; using parentbased_always_on`);
      return new ParentBased(new AlwaysOn());
  }
}
