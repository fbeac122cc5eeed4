/**
 * The Prometheus scrape endpoint. critap runs its own small HTTP server around
 * the exporter's request handler (instead of the exporter's built-in one) to
 * learn the real port when asked for port 0, to turn a busy port into a clear
 * startup error, and to close it cleanly.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';

export class MetricsListenError extends Error {}

/** `127.0.0.1:9464`, `:9464` (all interfaces), `[::1]:9464` or a bare port `9464`. */
export function parseListen(text: string): { host: string | undefined; port: number } {
  const s = text.trim();
  const m = /^(?:(\[[^\]]+\]|[^:[\]]*):)?(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new MetricsListenError(`critap: metrics address "${text}" must look like 127.0.0.1:9464, [::1]:9464 or :9464`);
  }
  const rawHost = m[1];
  const host = rawHost === undefined || rawHost === '' ? undefined : rawHost.replace(/^\[|\]$/g, '');
  return { host, port };
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function serveMetrics(listen: string, exporter: PrometheusExporter): Promise<MetricsServer> {
  const { host, port } = parseListen(listen);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      exporter.getMetricsRequestHandler(req, res);
      return;
    }
    res.statusCode = 404;
    res.end('critap: only GET /metrics is served here\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new MetricsListenError(`critap: cannot serve metrics on ${listen}: ${err.code ?? err.message}`));
    });
    server.listen({ host, port }, () => resolve());
  });
  // Scrapes are short; don't let an idle keep-alive connection delay shutdown.
  server.keepAliveTimeout = 5_000;
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
