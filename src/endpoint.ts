/**
 * Endpoints in crictl's syntax: `unix:///path`, a bare `/path`, or `tcp://host:port`.
 */
export type Endpoint =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number };

export class EndpointError extends Error {
  /** A mistake in what the user typed: the CLI prints it as a usage error (exit code 2). */
  readonly usage = true;
}

export function parseEndpoint(text: string): Endpoint {
  const s = text.trim();
  if (s === '') throw new EndpointError('critap: empty endpoint; use unix:///path/to.sock or tcp://host:port');
  if (s.startsWith('unix://')) {
    const path = s.slice('unix://'.length);
    if (!path.startsWith('/')) {
      throw new EndpointError(`critap: endpoint "${text}" must name an absolute socket path, e.g. unix:///run/containerd/containerd.sock`);
    }
    return { kind: 'unix', path };
  }
  if (s.startsWith('/')) return { kind: 'unix', path: s };
  if (s.startsWith('tcp://')) {
    const rest = s.slice('tcp://'.length);
    const m = /^(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(rest);
    if (!m) throw new EndpointError(`critap: endpoint "${text}" must look like tcp://host:port`);
    const port = Number(m[2]);
    if (port < 1 || port > 65535) throw new EndpointError(`critap: port ${m[2]} in "${text}" is out of range`);
    const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
    return { kind: 'tcp', host, port };
  }
  throw new EndpointError(
    `critap: unsupported endpoint "${text}"; use unix:///path/to.sock, /path/to.sock or tcp://host:port`,
  );
}

export function formatEndpoint(e: Endpoint): string {
  return e.kind === 'unix' ? `unix://${e.path}` : `tcp://${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}

/** Options for net.connect / net.Server.listen. */
export function netOptions(e: Endpoint): { path: string } | { host: string; port: number } {
  return e.kind === 'unix' ? { path: e.path } : { host: e.host, port: e.port };
}

/** Target string for @grpc/grpc-js clients. */
export function grpcTarget(e: Endpoint): string {
  return e.kind === 'unix' ? `unix://${e.path}` : `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
}
