import express, { type NextFunction, type Request, type Response } from 'express';
import type { Server } from 'node:http';
import type { Logger } from '@bandwatch/core';
import { z } from 'zod';
import { trafficModelSchema } from './profile';
import { SimControlError, type SimDevice } from './simDevice';

/*
 * Fault injection over HTTP on 127.0.0.1 only: tests and the demo flip a
 * device into a fault and back without restarting anything.
 *
 *   GET  /devices                                       state of every device
 *   GET  /devices/:device                               interfaces, ifIndex, status, counters, current rate
 *   POST /devices/:device/reset-counters     {interfaces?: string[]}
 *   POST /devices/:device/reboot
 *   POST /devices/:device/renumber           {offset?: number}
 *   POST /devices/:device/faults             {delay_ms?: number, silent?: boolean, max_response_varbinds?: number}
 *   POST /devices/:device/heal               clears every device fault
 *   POST /devices/:device/interfaces/:name/down
 *   POST /devices/:device/interfaces/:name/up
 *   POST /devices/:device/interfaces/:name/wrap32        {seconds_before_wrap?: number}
 *   PUT  /devices/:device/interfaces/:name/model         {in?: Model, out?: Model}
 *
 * Interface names contain slashes (Gi0/0/1.100): URL-encode them.
 */

const faultsBody = z.strictObject({
  delay_ms: z.number().int().min(0).max(600000).optional(),
  silent: z.boolean().optional(),
  max_response_varbinds: z.number().int().min(0).optional(),
});
const resetBody = z.strictObject({ interfaces: z.array(z.string()).optional() });
const renumberBody = z.strictObject({ offset: z.number().int().optional() });
const wrapBody = z.strictObject({ seconds_before_wrap: z.number().min(0).optional() });
const modelBody = z.strictObject({ in: trafficModelSchema.optional(), out: trafficModelSchema.optional() });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success) throw new SimControlError(400, r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return r.data;
}

export function describeDevice(d: SimDevice): unknown {
  const now = Date.now();
  return {
    name: d.name,
    port: d.port,
    sys_uptime_ticks: d.sysUpTimeTicks(now),
    faults: { delay_ms: d.faults.delayMs, silent: d.faults.silent, max_response_varbinds: d.faults.maxResponseVarbinds },
    fault_hits: d.faultHits,
    interfaces: d.interfaces().map((s) => {
      const c = d.counters(s.name, now);
      const r = d.rateMbps(s, now);
      return {
        name: s.name,
        alias: s.alias,
        if_index: s.ifIndex,
        speed_mbps: s.speedMbps,
        oper_status: s.operStatus === 1 ? 'up' : 'down',
        in_octets: c.inOctets.toString(),
        out_octets: c.outOctets.toString(),
        in_mbps: r.inMbps,
        out_mbps: r.outMbps,
        discontinuity_ticks: s.discontinuityTicks,
      };
    }),
  };
}

export async function startControlApi(devices: SimDevice[], port: number, logger: Logger): Promise<{ url: string; close(): Promise<void> }> {
  const byName = new Map(devices.map((d) => [d.name, d]));
  const device = (req: Request): SimDevice => {
    const d = byName.get(String(req.params.device));
    if (!d) throw new SimControlError(404, `no simulated device named "${String(req.params.device)}"`);
    return d;
  };
  const ifName = (req: Request) => String(req.params.name);
  const app = express();
  app.use(express.json());
  const ok = (res: Response, extra: object = {}) => res.json({ ok: true, ...extra });

  app.get('/devices', (_req, res) => res.json(devices.map((d) => ({ name: d.name, port: d.port, interfaces: d.interfaces().length }))));
  app.get('/devices/:device', (req, res) => res.json(describeDevice(device(req))));
  app.post('/devices/:device/reset-counters', (req, res) => {
    device(req).resetCounters(parse(resetBody, req.body).interfaces);
    ok(res);
  });
  app.post('/devices/:device/reboot', (req, res) => {
    device(req).reboot();
    ok(res);
  });
  app.post('/devices/:device/renumber', (req, res) => ok(res, { moves: device(req).renumber(parse(renumberBody, req.body).offset) }));
  app.post('/devices/:device/faults', (req, res) => {
    const d = device(req);
    const b = parse(faultsBody, req.body);
    if (b.delay_ms !== undefined) d.faults.delayMs = b.delay_ms;
    if (b.silent !== undefined) d.faults.silent = b.silent;
    if (b.max_response_varbinds !== undefined) d.faults.maxResponseVarbinds = b.max_response_varbinds;
    ok(res, { faults: { delay_ms: d.faults.delayMs, silent: d.faults.silent, max_response_varbinds: d.faults.maxResponseVarbinds } });
  });
  app.post('/devices/:device/heal', (req, res) => {
    const d = device(req);
    d.faults.delayMs = 0;
    d.faults.silent = false;
    d.faults.maxResponseVarbinds = 0;
    ok(res);
  });
  app.post('/devices/:device/interfaces/:name/down', (req, res) => {
    device(req).setOperStatus(ifName(req), false);
    ok(res);
  });
  app.post('/devices/:device/interfaces/:name/up', (req, res) => {
    device(req).setOperStatus(ifName(req), true);
    ok(res);
  });
  app.post('/devices/:device/interfaces/:name/wrap32', (req, res) => {
    device(req).wrap32(ifName(req), parse(wrapBody, req.body).seconds_before_wrap);
    ok(res);
  });
  app.put('/devices/:device/interfaces/:name/model', (req, res) => {
    device(req).setModel(ifName(req), parse(modelBody, req.body));
    ok(res);
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof SimControlError ? err.status : 500;
    if (status === 500) logger.error({ err }, 'control api error');
    res.status(status).json({ ok: false, error: err instanceof Error ? err.message : String(err) });
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
