import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyInventory, createPool, migrate, parseConfig, silentLogger, type Config, type Pool } from '@bandwatch/core';
import {
  freeTcpPort,
  makeTempDir,
  requireBinary,
  startInflux,
  startPostgres,
  startPrometheus,
  waitFor,
  type InfluxServer,
  type PostgresServer,
  type PrometheusServer,
} from '@bandwatch/core/testing';
import { parseProfile, startSimulator, type RunningSimulator } from '@bandwatch/simulator';
import { InfluxQueryClient } from './influx/influxQuery';
import { runCollector } from './main';

/*
 * The whole collector against real servers: Postgres (inventory, usage_5m),
 * InfluxDB 1.6, a simulated router (net-snmp agent with real-time counters)
 * and a real Prometheus scraping /metrics. Polls every second (test seam) so
 * the run stays short.
 */

const DB = 'bw_main';

describe('runCollector', () => {
  let pg: PostgresServer;
  let pool: Pool;
  let influx: InfluxServer;
  let sim: RunningSimulator;
  let prometheus: PrometheusServer | undefined;
  let dir: string;
  let config: Config;

  beforeAll(async () => {
    dir = makeTempDir('collector-main');
    sim = await startSimulator(
      parseProfile({
        devices: [
          {
            name: 'nw-edge-1',
            port: 0,
            community: 'public',
            interfaces: [
              { name: 'ether1.10', alias: 'ACME', speed_mbps: 1000, in: { kind: 'constant', mbps: 50 }, out_ratio: 0.2 },
              { name: 'ether1.30', alias: 'CEDAR-A', speed_mbps: 1000, in: { kind: 'constant', mbps: 100 }, out_ratio: 0.1 },
              { name: 'ether1.31', alias: 'CEDAR-B', speed_mbps: 1000, in: { kind: 'constant', mbps: 20 }, out_ratio: 0.5 },
              { name: 'ether1.99', alias: 'unsold', speed_mbps: 1000, in: { kind: 'constant', mbps: 300 } },
            ],
          },
        ],
      }),
      { logger: silentLogger() },
    );
    [pg, influx] = await Promise.all([startPostgres(), startInflux({ database: DB })]);
    const httpPort = await freeTcpPort();
    config = parseConfig(
      `
postgres: { url: "${pg.url}" }
influx:
  url: ${influx.url}
  database: ${DB}
  flush_interval_ms: 200
  spool: { dir: "${join(dir, 'spool')}" }
snmp:
  timeout_ms: 500
  retries: 0
  auths: { v2: { version: 2c, community: public } }
collector:
  http: { listen: 127.0.0.1, port: ${httpPort} }
inventory:
  isps:
    - slug: northwind
      name: Northwind
      devices:
        - { name: nw-edge-1, host: 127.0.0.1, port: ${sim.devices[0]?.port}, auth: v2 }
      resellers:
        - slug: acme-net
          name: Acme
          committed_mbps: 200
          vlans: [{ device: nw-edge-1, if_name: ether1.10 }]
        - slug: cedar-link
          name: Cedar
          committed_mbps: 300
          vlans:
            - { device: nw-edge-1, if_alias_regex: "^CEDAR-A$" }
            - { device: nw-edge-1, if_name: ether1.31 }
`,
      'main.int.test.yaml',
      {},
    );
    pool = createPool({ url: pg.url });
    await migrate(pool);
    await applyInventory(pool, config.inventory);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await pool?.end();
    await Promise.all([pg?.stop(), influx?.stop(), sim?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('polls, writes VLAN/reseller/uplink rates to InfluxDB, serves /metrics to Prometheus, rolls up, and stops cleanly', async () => {
    const abort = new AbortController();
    let httpPort = 0;
    const running = runCollector(config, {
      logger: silentLogger(),
      signal: abort.signal,
      pollIntervalMs: 1000,
      inventoryRefreshMs: 2000,
      onReady: (info) => {
        httpPort = info.httpPort;
      },
    });
    let stopped = false;
    void running.finally(() => {
      stopped = true;
    });
    try {
      await waitFor('collector http', () => httpPort > 0, 20_000);
      prometheus = await startPrometheus({ scrapeTargets: [`127.0.0.1:${httpPort}`] });

      const q = new InfluxQueryClient({ url: influx.url, database: DB });
      const resellerRows = await waitFor(
        'five cedar-link reseller points',
        async () => {
          const rows = await q.rows(`SELECT in_bps, out_bps, utilization_in_pct, vlans FROM reseller_rate WHERE reseller = 'cedar-link'`);
          return rows.length >= 5 ? rows : undefined;
        },
        40_000,
        250,
      );
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      // 100 + 20 Mb/s in; 10 + 10 Mb/s out; committed 300 → 40 %.
      expect(mean(resellerRows.map((r) => r.in_bps as number)) / 120e6).toBeCloseTo(1, 1);
      expect(mean(resellerRows.map((r) => r.out_bps as number)) / 20e6).toBeCloseTo(1, 1);
      expect(mean(resellerRows.map((r) => r.utilization_in_pct as number))).toBeGreaterThan(38);
      expect(mean(resellerRows.map((r) => r.utilization_in_pct as number))).toBeLessThan(42);
      expect(resellerRows.every((r) => r.vlans === 2)).toBe(true);

      const vlanRows = await q.rows(`SELECT in_bps FROM vlan_rate WHERE reseller = 'acme-net' AND ifname = 'ether1.10' AND vlan = '10'`);
      expect(vlanRows.length).toBeGreaterThanOrEqual(3);
      expect(mean(vlanRows.map((r) => r.in_bps as number)) / 50e6).toBeCloseTo(1, 1);
      const uplink = await q.rows(`SELECT in_bps, vlans FROM uplink_rate WHERE device = 'nw-edge-1'`);
      expect(uplink.length).toBeGreaterThanOrEqual(3);
      // The unsold ether1.99 (300 Mb/s) is not polled and not in the uplink sum of bound VLANs.
      expect(mean(uplink.map((r) => r.in_bps as number)) / 170e6).toBeCloseTo(1, 1);
      // One first_sample gap per VLAN (with device/ifname) and one per reseller (without).
      const firstGaps = await q.rows(`SELECT count, reseller, ifname FROM rate_gap WHERE reason = 'first_sample'`);
      expect(firstGaps.map((r) => `${r.reseller}/${r.ifname ?? '-'}`).sort()).toEqual([
        'acme-net/-',
        'acme-net/ether1.10',
        'cedar-link/-',
        'cedar-link/ether1.30',
        'cedar-link/ether1.31',
      ]);

      const metricsText = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      expect(metricsText).toMatch(/bandwatch_last_successful_poll_timestamp_seconds\{device="nw-edge-1"\} \d+/);
      expect(metricsText).toMatch(/bandwatch_rate_gaps_total\{device="nw-edge-1",reason="first_sample"\} 3/);
      const promtool = spawnSync(requireBinary('promtool', 'prometheus'), ['check', 'metrics'], { input: metricsText, encoding: 'utf8' });
      expect({ status: promtool.status, stderr: promtool.stderr }).toEqual({ status: 0, stderr: '' });

      const promRate = await waitFor(
        'cedar-link rate in prometheus',
        async () => {
          const r = await (prometheus as PrometheusServer).query('bandwatch_reseller_rate_bytes_per_second{reseller="cedar-link",direction="in"} * 8');
          return r.length > 0 ? Number(r[0]?.value[1]) : undefined;
        },
        30_000,
        250,
      );
      expect(promRate / 120e6).toBeCloseTo(1, 1);

      const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', devices: [{ device: 'nw-edge-1', stale: false }], spool: { points: 0, writingToInflux: true } });

      const bound = await pool.query(`select match_value, bound_if_name from public.reseller_vlans order by match_value`);
      expect(bound.rows).toEqual([
        { match_value: '^CEDAR-A$', bound_if_name: 'ether1.30' },
        { match_value: 'ether1.10', bound_if_name: 'ether1.10' },
        { match_value: 'ether1.31', bound_if_name: 'ether1.31' },
      ]);

      // Inventory is the database's: a reseller added while running is picked up by the refresh,
      // and the running series of the others continue without a gap across the poller restart.
      const gapsBefore = (await q.rows(`SELECT count FROM rate_gap WHERE reseller = 'acme-net'`)).length;
      const isp = config.inventory.isps[0];
      if (!isp) throw new Error('test config has no isp');
      await applyInventory(pool, {
        isps: [{ ...isp, resellers: [...isp.resellers, { slug: 'dune', name: 'Dune', committed_mbps: 500, contacts: [], vlans: [{ device: 'nw-edge-1', if_name: 'ether1.99' }], ips: [] }] }],
      });
      const dune = await waitFor(
        'dune reseller points',
        async () => {
          const rows = await q.rows(`SELECT in_bps, utilization_in_pct FROM reseller_rate WHERE reseller = 'dune'`);
          return rows.length >= 2 ? rows : undefined;
        },
        30_000,
        250,
      );
      expect((dune[0]?.in_bps as number) / 300e6).toBeCloseTo(1, 1);
      expect((dune[0]?.utilization_in_pct as number) / 60).toBeCloseTo(1, 1);
      expect((await q.rows(`SELECT count FROM rate_gap WHERE reseller = 'acme-net'`)).length).toBe(gapsBefore);
    } finally {
      abort.abort();
    }
    await running;
    expect(stopped).toBe(true);
    // A clean stop stores the partial current 5-minute bucket. The run may
    // straddle a boundary, so buckets are combined per reseller, weighted by samples.
    const usage = await pool.query(
      `select r.slug, sum(u.samples)::int as samples,
              sum(u.avg_in_mbps * u.samples) / nullif(sum(u.samples), 0) as avg_in_mbps, max(u.committed_mbps) as committed_mbps
         from public.usage_5m u join public.resellers r on r.id = u.reseller_id group by r.slug order by r.slug`,
    );
    expect(usage.rows.map((r) => r.slug)).toEqual(['acme-net', 'cedar-link', 'dune']);
    const cedar = usage.rows[1];
    expect(cedar.samples).toBeGreaterThanOrEqual(1);
    expect(cedar.avg_in_mbps / 120).toBeCloseTo(1, 1);
    expect(cedar.committed_mbps).toBe(300);
  }, 120_000);
});
