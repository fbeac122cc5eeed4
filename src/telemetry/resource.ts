/**
 * The OpenTelemetry resource of critap's spans and metrics. `host.name` is what
 * lines critap's spans up with the kubelet's and containerd's of the same node.
 */
import { hostname } from 'node:os';
import { detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { VERSION } from '../version.js';

/** `serviceName` option, else OTEL_SERVICE_NAME, else 'critap'. */
export function serviceNameFrom(option: string | undefined): string {
  const env = process.env.OTEL_SERVICE_NAME?.trim();
  return option?.trim() || env || 'critap';
}

/**
 * OTEL_RESOURCE_ATTRIBUTES is honoured; the service name and version are critap's own.
 * `hostName`: live spans describe this machine (the default); an exported recording describes
 * the node it was made on, or leaves host.name out (null) rather than name the wrong one.
 */
export function telemetryResource(serviceName: string, hostName: string | null = hostname()): Resource {
  return resourceFromAttributes(hostName !== null ? { 'host.name': hostName } : {})
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ 'service.name': serviceName, 'service.version': VERSION }));
}
