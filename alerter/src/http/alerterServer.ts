import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Router } from 'express';
import type { AlerterMetrics } from '../metrics/alerterMetrics';

export interface AlerterServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** /metrics, /healthz and the webhooks on one listener (alerting.http). */
export async function startAlerterServer(o: {
  listen: string;
  port: number;
  metrics: AlerterMetrics;
  health: () => { ok: boolean; [k: string]: unknown };
  routers: Router[];
}): Promise<AlerterServer> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    res.type(o.metrics.registry.contentType).send(await o.metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    const h = o.health();
    res.status(h.ok ? 200 : 503).json(h);
  });
  for (const r of o.routers) app.use(r);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(o.port, o.listen, () => resolve(s));
    s.once('error', reject);
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
