/**
 * The parent of a call's span: the W3C `traceparent`/`tracestate` the client
 * (a kubelet built with tracing on) put in the request metadata.
 *
 * By default critap only reads the context: the forwarder passes the client's bytes through
 * unchanged, so the runtime sees the kubelet's traceparent and parents its own span on the
 * kubelet's client span. critap's span and containerd's end up as siblings under the same
 * kubelet span, which is exactly the picture of a proxy that is not supposed to change anything.
 * `--propagate-trace` (src/telemetry/propagation.ts) nests the runtime's span under critap's instead.
 */
import { ROOT_CONTEXT, type Context, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Header } from '../call.js';

type Carrier = Record<string, string>;

const propagator = new W3CTraceContextPropagator();
const getter: TextMapGetter<Carrier> = {
  keys: (c) => Object.keys(c),
  get: (c, key) => c[key],
};

/** The context to start the call's span in: the client's span if it sent one, else a new trace. */
export function parentContext(metadata: readonly Header[]): Context {
  let carrier: Carrier | undefined;
  for (const [name, value] of metadata) {
    // HTTP/2 header names are lower case on the wire; be lenient with recordings made by other tools.
    const n = name.length === 11 || name.length === 10 ? name.toLowerCase() : '';
    if (n === 'traceparent' || n === 'tracestate') (carrier ??= {})[n] = value;
  }
  if (!carrier?.traceparent) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, carrier, getter);
}
