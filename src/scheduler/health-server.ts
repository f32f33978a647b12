/**
 * `pqlsync schedule --health-port P`: `GET /healthz` (200 while the daemon runs, 503 once it is shutting down;
 * JSON with each sync's state) and `GET /metrics` (Prometheus text). Bound to 127.0.0.1 unless a host is given,
 * since it is meant for a local probe or a sidecar scraper.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Scheduler } from './scheduler.js';
import type { SchedulerMetrics } from './scheduler-metrics.js';

export interface HealthServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(
  scheduler: Scheduler,
  metrics: SchedulerMetrics,
  options: { port: number; host?: string; startedAt?: Date },
): Promise<HealthServer> {
  const startedAt = options.startedAt ?? new Date();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (url.pathname === '/healthz') {
      const status = scheduler.isStopping ? 'stopping' : 'ok';
      const body = { status, startedAt: startedAt.toISOString(), syncs: scheduler.states() };
      res
        .writeHead(status === 'ok' ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify(body) + '\n');
      return;
    }
    if (url.pathname === '/metrics') {
      metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err: unknown) =>
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /healthz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
