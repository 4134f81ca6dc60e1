import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { Logger } from '@bandwatch/core';
import type { CollectorMetrics } from '../metrics/collectorMetrics';
import type { HealthReport } from './health';

/** GET /metrics (Prometheus text) and GET /healthz (JSON; 503 when unhealthy). */
export function createCollectorApp(deps: { metrics: CollectorMetrics; health: () => HealthReport; logger: Logger }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    try {
      const { contentType, body } = await deps.metrics.render();
      res.set('content-type', contentType).send(body);
    } catch (err) {
      deps.logger.error({ err }, 'rendering /metrics failed');
      res.status(500).type('text/plain').send('metrics rendering failed\n');
    }
  });
  app.get('/healthz', (_req, res) => {
    const report = deps.health();
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });
  return app;
}

export interface RunningHttp {
  port: number;
  close(): Promise<void>;
}

/** Listens on `host:port` (port 0 = any free port, for tests). */
export async function listen(app: Express, host: string, port: number): Promise<RunningHttp> {
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
