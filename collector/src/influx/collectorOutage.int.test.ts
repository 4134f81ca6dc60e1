import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyInventory, createPool, migrate, parseConfig, silentLogger, type Config, type Pool } from '@bandwatch/core';
import { freeTcpPort, makeTempDir, sleep, startInflux, startPostgres, waitFor, type InfluxServer, type PostgresServer } from '@bandwatch/core/testing';
import { parseProfile, startSimulator, type RunningSimulator } from '@bandwatch/simulator';
import type { CollectorMetrics } from '../metrics/collectorMetrics';
import { runCollector } from '../main';
import { InfluxQueryClient } from './influxQuery';

/*
 * Storage outage while the whole collector polls (simulated router, 1 s
 * polls): InfluxDB is stopped for BANDWATCH_OUTAGE_SECONDS (default 20 s for
 * CI time; 60 s was run by hand, see the issue note), restarted on the same
 * port and data dir, and afterwards:
 *   - every VLAN series has one point per poll with no hole across the outage,
 *   - points in InfluxDB == points the writer reports as confirmed (a point
 *     sent twice would be deduplicated by InfluxDB and break the equality),
 *   - nothing dropped.
 */

const OUTAGE_SECONDS = Number(process.env.BANDWATCH_OUTAGE_SECONDS ?? 20);
const DB = 'bw_collector_outage';

describe('storage outage while polling', () => {
  let pg: PostgresServer;
  let pool: Pool;
  let influx: InfluxServer;
  let influxDir: string;
  let sim: RunningSimulator;
  let dir: string;
  let config: Config;

  beforeAll(async () => {
    dir = makeTempDir('collector-outage');
    influxDir = makeTempDir('collector-outage-influx');
    sim = await startSimulator(
      parseProfile({
        devices: [
          {
            name: 'nw-edge-1',
            port: 0,
            community: 'public',
            interfaces: [
              { name: 'ether1.10', speed_mbps: 1000, in: { kind: 'constant', mbps: 50 } },
              { name: 'ether1.20', speed_mbps: 1000, in: { kind: 'constant', mbps: 150 } },
            ],
          },
        ],
      }),
      { logger: silentLogger() },
    );
    [pg, influx] = await Promise.all([startPostgres(), startInflux({ database: DB, dir: influxDir })]);
    config = parseConfig(
      `
postgres: { url: "${pg.url}" }
influx: { url: "${influx.url}", database: ${DB}, flush_interval_ms: 500, timeout_ms: 1000, retry_initial_ms: 250, retry_max_ms: 2000, spool: { dir: "${join(dir, 'spool')}" } }
snmp: { timeout_ms: 500, retries: 0, auths: { v2: { version: 2c, community: public } } }
collector: { http: { listen: 127.0.0.1, port: ${await freeTcpPort()} } }
inventory:
  isps:
    - slug: northwind
      name: Northwind
      devices: [{ name: nw-edge-1, host: 127.0.0.1, port: ${sim.devices[0]?.port}, auth: v2 }]
      resellers:
        - { slug: acme-net, name: Acme, committed_mbps: 200, vlans: [{ device: nw-edge-1, if_name: ether1.10 }, { device: nw-edge-1, if_name: ether1.20 }] }
`,
      'outage.yaml',
      {},
    );
    pool = createPool({ url: pg.url });
    await migrate(pool);
    await applyInventory(pool, config.inventory);
  });

  afterAll(async () => {
    await pool?.end();
    await Promise.all([pg?.stop(), influx?.stop(), sim?.stop()]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(influxDir, { recursive: true, force: true });
  });

  it(`a ${OUTAGE_SECONDS} s InfluxDB outage during polling loses nothing, duplicates nothing, leaves no hole`, async () => {
    const abort = new AbortController();
    let metrics: CollectorMetrics | undefined;
    const running = runCollector(config, { logger: silentLogger(), signal: abort.signal, pollIntervalMs: 1000, onReady: (i) => (metrics = i.metrics) });
    const gauge = async (name: 'spoolPoints' | 'pointsWritten') => (await (metrics as CollectorMetrics)[name].get()).values[0]?.value ?? 0;
    let maxSpooled = 0;
    try {
      await waitFor('collector ready', () => metrics !== undefined, 20_000);
      await sleep(4000);
      const port = influx.port;
      await influx.stop();
      const stoppedAt = Date.now();
      const watch = setInterval(() => {
        void gauge('spoolPoints').then((v) => (maxSpooled = Math.max(maxSpooled, v)));
      }, 250);
      await sleep(OUTAGE_SECONDS * 1000);
      clearInterval(watch);
      influx = await startInflux({ database: DB, dir: influxDir, port });
      const restartedAt = Date.now();
      await waitFor('spool replayed', async () => (await gauge('spoolPoints')) === 0, 60_000, 100);
      const replayMs = Date.now() - restartedAt;
      await sleep(3000);

      abort.abort();
      await running;
      const written = await gauge('pointsWritten');
      const dropped = (await (metrics as CollectorMetrics).pointsDropped.get()).values.reduce((n, v) => n + v.value, 0);

      const q = new InfluxQueryClient({ url: influx.url, database: DB });
      let inInflux = 0;
      for (const m of ['vlan_rate', 'reseller_rate', 'uplink_rate', 'rate_gap']) {
        inInflux += (await q.rows(`SELECT * FROM ${m}`)).length;
      }
      const outageVlanPoints = (await q.rows(`SELECT in_bps FROM vlan_rate WHERE time >= ${stoppedAt}ms AND time < ${restartedAt}ms`)).length;
      console.log(
        `collector storage outage ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s: points confirmed=${written} in InfluxDB=${inInflux} dropped=${dropped} ` +
          `VLAN points from the outage=${outageVlanPoints} max spooled=${maxSpooled} spool replayed ${replayMs} ms after restart`,
      );
      expect(dropped).toBe(0);
      expect(maxSpooled).toBeGreaterThan(0);
      expect(inInflux).toBe(written);
      // Two VLANs, one poll per second through the outage.
      expect(outageVlanPoints).toBeGreaterThanOrEqual(2 * (OUTAGE_SECONDS - 2));
      for (const ifname of ['ether1.10', 'ether1.20']) {
        const times = (await q.rows(`SELECT in_bps FROM vlan_rate WHERE ifname = '${ifname}'`)).map((r) => r.time as number);
        const holes = times.slice(1).filter((t, i) => t - (times[i] as number) > 1600);
        expect(holes).toEqual([]);
        expect(new Set(times).size).toBe(times.length);
      }
      const rates = (await q.rows(`SELECT in_bps FROM reseller_rate`)).map((r) => r.in_bps as number);
      expect(Math.max(...rates) / 200e6).toBeLessThan(1.03);
      expect(Math.min(...rates) / 200e6).toBeGreaterThan(0.97);
    } finally {
      abort.abort();
      await running;
    }
  }, (OUTAGE_SECONDS + 120) * 1000);
});
