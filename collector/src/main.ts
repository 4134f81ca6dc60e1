import { createHash } from 'node:crypto';
import { createInventoryReader, createPool, errorKind, errorMessage, type Config, type Inventory, type Logger, type Pool } from '@bandwatch/core';
import { createCollectorApp, listen, type RunningHttp } from './http/collectorHttp';
import { evaluateHealth } from './http/health';
import { createSeriesWriter, type InfluxSeriesWriter } from './influx/influxWriter';
import { CollectorMetrics, type BindingProblem } from './metrics/collectorMetrics';
import { startPingMonitor } from './ping/index';
import { RatePipeline, type PipelineOutput } from './rates/ratePipeline';
import { UsageRollup } from './rollup/usageRollup';
import { readUsageBucket, upsertUsage } from './rollup/usageStore';
import { PollScheduler, writeBindings, type BindingResult } from './snmp/index';

/*
 * The collector process: wiring only. Inventory from Postgres → SNMP poll
 * scheduler (snmp/) → rate pipeline (rates/) → InfluxDB writer with spool
 * (influx/), Prometheus metrics (metrics/), 5-minute rollups (rollup/), ping
 * monitor (ping/), and /metrics + /healthz (http/).
 */

export interface RunCollectorOptions {
  logger: Logger;
  signal: AbortSignal;
  /** Test seams: faster cycles than the config's floors allow. */
  pollIntervalMs?: number;
  discoveryIntervalMs?: number;
  /** How often the inventory is re-read from Postgres (default 60 s). */
  inventoryRefreshMs?: number;
  /** Called once everything listens (tests, demo). */
  onReady?: (info: { httpPort: number; metrics: CollectorMetrics }) => void;
}

/**
 * Something that runs next to the poller and stops with it. The ping monitor
 * is one; more (e.g. a flow collector) are added to `monitors` in runCollector.
 */
interface Monitor {
  name: string;
  stop(): Promise<void>;
}

/** Inventory re-read period: devices, rules and committed rates change through the API or `inventory apply`. */
const DEFAULT_INVENTORY_REFRESH_MS = 60_000;

/** Stable shard of a device: the same device lands on the same collector across restarts. */
export function deviceShard(deviceName: string, count: number): number {
  return createHash('sha1').update(deviceName).digest().readUInt32BE(0) % count;
}

/** What a scheduler restart depends on; bound_* columns are excluded (the collector writes them itself). */
function pollingFingerprint(inv: Inventory, shardDevices: ReadonlySet<string>): string {
  return JSON.stringify({
    devices: inv.devices.filter((d) => shardDevices.has(d.id)).map((d) => [d.id, d.name, d.host, d.port, d.authRef, d.enabled]),
    vlans: inv.vlans.filter((v) => shardDevices.has(v.deviceId)).map((v) => [v.id, v.resellerId, v.deviceId, v.matchKind, v.matchValue]),
  });
}

/** Calls `fn` until it succeeds (1 s doubling to 30 s between tries); undefined once `signal` aborts. */
async function retryUntilAborted<T>(fn: () => Promise<T>, signal: AbortSignal, onError: (err: unknown, retryInMs: number) => void): Promise<T | undefined> {
  let delayMs = 1000;
  while (!signal.aborted) {
    try {
      return await fn();
    } catch (err) {
      onError(err, delayMs);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delayMs);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
      delayMs = Math.min(delayMs * 2, 30_000);
    }
  }
  return undefined;
}

export async function runCollector(config: Config, options: RunCollectorOptions): Promise<void> {
  const log = options.logger;
  const startedWallMs = Date.now();
  const pollIntervalMs = options.pollIntervalMs ?? config.collector.poll_interval_seconds * 1000;
  const metrics = new CollectorMetrics();
  // The writer first: opening its spool is what can fail here (dir locked by another collector).
  const writer: InfluxSeriesWriter = createSeriesWriter(config, log, metrics.writerHooks());
  const pool: Pool = createPool({ ...config.postgres, application_name: 'bandwatch-collector' });
  const pipeline = new RatePipeline({
    overspeedTolerancePercent: config.collector.overspeed_tolerance_percent,
    // A reseller round waits at most 1.5 polls for its slowest VLAN.
    aggregationWindowMs: pollIntervalMs * 1.5,
  });
  const rollup = new UsageRollup(config.collector.rollup_interval_seconds);
  const timers: NodeJS.Timeout[] = [];
  const monitors: Monitor[] = [];
  const lastPollOk = new Map<string, number>();
  const deviceNames = new Map<string, string>();
  let scheduler: PollScheduler | undefined;
  let fingerprint = '';
  let http: RunningHttp | undefined;
  /** reseller id → isp id (usage_5m rows carry both). */
  let resellerIsp = new Map<string, string>();
  let refreshing: Promise<void> | undefined;

  const apply = (out: PipelineOutput): void => {
    if (out.points.length > 0) writer.write(out.points);
    for (const v of out.vlans) {
      metrics.recordVlan(
        { isp: v.reseller.ispSlug, reseller: v.reseller.slug, device: v.device.name, ifname: v.ifName, vlan: v.vlan },
        v.result,
        v.ifHighSpeedMbps,
      );
    }
    for (const { reseller, aggregate: a } of out.resellers) {
      const labels = { isp: reseller.ispSlug, reseller: reseller.slug };
      const ids = { ispId: resellerIsp.get(reseller.id) ?? '', resellerId: reseller.id, committedMbps: reseller.committedMbps };
      if (a.kind === 'rate') {
        metrics.recordReseller(labels, a);
        rollup.addRate({ ...ids, wallMs: a.wallMs, inBps: a.inBps, outBps: a.outBps });
      } else {
        metrics.recordReseller(labels, { gap: a.reason });
        rollup.addGap({ ...ids, wallMs: a.wallMs });
      }
    }
    if (out.uplink) {
      const total = out.uplink.total;
      metrics.recordUplink({ isp: out.uplink.device.ispSlug, device: out.uplink.device.name }, total.kind === 'rate' ? total : undefined);
    }
  };

  const onBinding = (results: BindingResult[]): void => {
    const deviceId = results[0]?.deviceId;
    if (deviceId === undefined) return;
    pipeline.setBindings(
      deviceId,
      results.map((r) => ({ ruleId: r.vlanId, deviceId: r.deviceId, ok: r.ok, ifIndex: r.ifIndex, ifName: r.ifName })),
    );
    const all = scheduler?.bindings() ?? results;
    metrics.setBindingProblems(
      all.filter((b) => !b.ok).map((b) => ({ device: b.deviceName, problem: (b.reason ?? 'invalid_rule') as BindingProblem })),
    );
    writeBindings(pool, results).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'storing bindings failed (retried at the next discovery)'));
  };

  const startScheduler = async (inv: Inventory): Promise<void> => {
    if (options.signal.aborted) return;
    const { index, count } = config.collector.shard;
    const devices = inv.devices.filter((d) => d.enabled && deviceShard(d.name, count) === index);
    const ids = new Set(devices.map((d) => d.id));
    if (count > 1) {
      // The reseller sum needs every VLAN in one process; a reseller split across shards
      // gets reseller gaps (never a partial sum) on each of them.
      const split = inv.resellers.filter((r) => {
        const vlans = inv.vlans.filter((v) => v.resellerId === r.id);
        return vlans.some((v) => ids.has(v.deviceId)) && vlans.some((v) => !ids.has(v.deviceId));
      });
      if (split.length > 0) log.warn({ resellers: split.map((r) => r.slug) }, 'resellers with VLANs on devices of other shards get no reseller rate here');
    }
    const next = pollingFingerprint(inv, ids);
    if (next === fingerprint && scheduler) return;
    if (scheduler) {
      log.info('inventory changed: restarting the poll scheduler');
      await scheduler.stop();
      // Gauges of removed VLANs/resellers must not linger; the next poll refills the rest.
      metrics.resetRates();
    }
    fingerprint = next;
    deviceNames.clear();
    for (const d of devices) deviceNames.set(d.id, d.name);
    scheduler = new PollScheduler({
      devices,
      vlans: inv.vlans.filter((v) => ids.has(v.deviceId)),
      config,
      logger: log,
      ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
      ...(options.discoveryIntervalMs !== undefined ? { discoveryIntervalMs: options.discoveryIntervalMs } : {}),
      onSamples: (deviceId, samples) => apply(pipeline.onSamples(deviceId, samples)),
      // Counted per device and kind through snmpStats; a timeout is routine for a dead router,
      // anything else (auth, agent, internal) needs an operator's eye.
      onPollError: (deviceId, err) =>
        log[err.kind === 'timeout' ? 'debug' : 'warn']({ device: deviceNames.get(deviceId), kind: err.kind, err: err.message }, 'poll error'),
      onBinding,
      snmpStats: {
        onError: (device, kind) => metrics.recordSnmpError(device, kind),
        onVarbindProblem: (device, problem) => metrics.recordSnmpError(device, problem),
      },
      pollStats: {
        onCycle: (deviceId, info) => {
          const name = deviceNames.get(deviceId) ?? deviceId;
          const now = Date.now();
          metrics.recordPoll(name, info.durationMs / 1000, info.ok, now);
          if (info.ok) lastPollOk.set(deviceId, now);
          else apply(pipeline.pollFailed(deviceId, now - info.durationMs, now));
        },
        // A failed discovery means no poll this cycle either: same explicit gaps.
        onDiscovery: (deviceId, info) => {
          const now = Date.now();
          if (!info.ok) apply(pipeline.pollFailed(deviceId, now - info.durationMs, now));
        },
        onOverrun: (deviceId) => metrics.pollOverruns.inc({ device: deviceNames.get(deviceId) ?? deviceId }),
      },
    });
    scheduler.start();
  };

  const inventoryReader = createInventoryReader(pool);
  let loaded: Inventory | undefined;
  const loadInventory = async (inv: Inventory): Promise<void> => {
    loaded = inv;
    const ispSlug = new Map(inv.isps.map((i) => [i.id, i.slug]));
    resellerIsp = new Map(inv.resellers.map((r) => [r.id, r.ispId]));
    pipeline.setInventory({
      resellers: inv.resellers.map((r) => ({ id: r.id, slug: r.slug, ispSlug: ispSlug.get(r.ispId) ?? '', committedMbps: r.committedMbps })),
      devices: inv.devices.map((d) => ({ id: d.id, name: d.name, ispSlug: ispSlug.get(d.ispId) ?? '' })),
      rules: inv.vlans.map((v) => ({ id: v.id, resellerId: v.resellerId, deviceId: v.deviceId })),
    });
    await startScheduler(inv);
  };

  const storeRollups = async (rows: ReturnType<UsageRollup['due']>): Promise<void> => {
    if (rows.length === 0) return;
    try {
      await upsertUsage(pool, rows);
      rollup.markStored(rows);
      metrics.rollupRows.inc(rows.length);
    } catch (err) {
      // Rows stay dirty in the rollup and go out again at the next boundary.
      metrics.rollupErrors.inc();
      log.warn({ err: errorMessage(err), rows: rows.length }, 'usage_5m upsert failed; will retry');
    }
  };

  try {
    // Postgres may be down when the collector starts (a restart during a
    // database outage): wait for it with backoff instead of exiting.
    const first = await retryUntilAborted(() => inventoryReader.read(), options.signal, (err, retryInMs) => {
      metrics.inventoryRefreshErrors.inc();
      log.warn({ err: errorMessage(err), kind: errorKind(err), retryInSeconds: retryInMs / 1000 }, 'cannot read the inventory yet; retrying');
    });
    if (first === undefined) return;
    await loadInventory(first);
    // Resume the current bucket if a previous run stored part of it.
    for (const row of await readUsageBucket(pool, rollup.bucketStart(Date.now()))) rollup.seed(row);

    // Inventory refresh: keep the last good inventory when Postgres is away.
    timers.push(
      setInterval(() => {
        // One refresh at a time: a slow Postgres must not start two schedulers.
        if (refreshing) return;
        refreshing = inventoryReader
          .read()
          // The reader hands back the same object while nothing changed: nothing to rebuild.
          .then((inv) => (inv === loaded ? undefined : loadInventory(inv)))
          .catch((err: unknown) => {
            metrics.inventoryRefreshErrors.inc();
            log.warn({ err: errorMessage(err), kind: errorKind(err) }, 'inventory refresh failed; keeping the last good inventory');
          })
          .finally(() => {
            refreshing = undefined;
          });
      }, options.inventoryRefreshMs ?? DEFAULT_INVENTORY_REFRESH_MS),
    );
    // Reseller rounds whose other device stopped answering are closed as gaps.
    timers.push(setInterval(() => apply(pipeline.expire(Date.now())), Math.min(5000, pollIntervalMs)));

    // Rollups at each boundary (+2 s so the last round of the bucket is in).
    const scheduleRollup = (): void => {
      const delay = rollup.nextBoundary(Date.now()) + 2000 - Date.now();
      const t = setTimeout(() => {
        void storeRollups(rollup.due(Date.now())).finally(() => {
          if (!options.signal.aborted) scheduleRollup();
        });
      }, delay);
      timers.push(t);
    };
    scheduleRollup();

    monitors.push({
      name: 'ping',
      ...startPingMonitor({
        config,
        pool,
        writer,
        registry: metrics.registry,
        logger: log.child({ component: 'ping' }),
        getResellerRate: (id) => pipeline.resellerRate(id),
      }),
    });

    const app = createCollectorApp({
      metrics,
      logger: log,
      health: () => {
        const s = writer.stats();
        return evaluateHealth({
          nowWallMs: Date.now(),
          startedWallMs,
          pollIntervalSeconds: pollIntervalMs / 1000,
          devices: [...deviceNames].map(([id, name]) => ({ device: name, lastSuccessWallMs: lastPollOk.get(id) })),
          spool: { bytes: s.spoolBytes, points: s.spoolPoints, maxBytes: config.influx.spool.max_bytes, failing: s.failing, lastError: s.lastError },
        });
      },
    });
    http = await listen(app, config.collector.http.listen, config.collector.http.port);
    log.info({ http: `${config.collector.http.listen}:${http.port}`, devices: deviceNames.size }, 'collector running');
    options.onReady?.({ httpPort: http.port, metrics });

    if (!options.signal.aborted) await new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    log.info('collector stopping');
    for (const t of timers) clearTimeout(t);
    await refreshing;
    await scheduler?.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'stopping the poll scheduler failed'));
    for (const m of monitors) await m.stop().catch((err: unknown) => log.warn({ err: errorMessage(err), monitor: m.name }, 'stopping a monitor failed'));
    // The partial current bucket too: the next start resumes it (rollup.seed).
    await storeRollups(rollup.all());
    await writer.close().catch((err: unknown) => log.error({ err: errorMessage(err) }, 'closing the influx writer failed'));
    await http?.close();
    await pool.end();
    log.info('collector stopped');
  }
}
