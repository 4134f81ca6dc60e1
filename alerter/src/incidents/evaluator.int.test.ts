import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, type Pool } from '@bandwatch/core';
import { startInflux, type InfluxServer } from '@bandwatch/core/testing';
import { seedInventory, startMigratedPostgres, testConfig, type MigratedPostgres, type SeededInventory } from '../testing/alerterFixture';
import { InfluxReader } from '../influx/influxReader';
import { Evaluator } from './evaluator';
import { LinkProcessor } from './linkProcessor';

/*
 * The evaluation pass against real InfluxDB (InfluxQL over /query) and real
 * Postgres, with explicit clocks so each case is exact.
 */

const DB = 'bandwatch';
let pg: MigratedPostgres;
let pool: Pool;
let influx: InfluxServer;
let inv: SeededInventory;
let base: number;

const config = (influxUrl: string, forSeconds = 0) =>
  testConfig({
    postgres: { url: 'postgres://unused' },
    influx: { url: influxUrl, database: DB, timeout_ms: 1000 },
    collector: { poll_interval_seconds: 10 },
    alerting: { utilization: { window_seconds: 60, for_seconds: forSeconds }, uplink: { window_seconds: 60 }, no_data: { intervals: 3 } },
  });

function evaluator(influxUrl = influx.url, forSeconds = 0): Evaluator {
  const cfg = config(influxUrl, forSeconds);
  return new Evaluator({
    pool,
    influx: new InfluxReader(cfg.influx),
    config: cfg,
    logger: silentLogger(),
    channel: 'console',
    links: new LinkProcessor(pool, cfg, 'console', () => undefined),
    onChange: () => undefined,
  });
}

/** Points every 10 s over [fromMs, toMs) in the collector's contract format. */
async function writeRates(fromMs: number, toMs: number, resellerBps: number, uplinkBps: number): Promise<void> {
  const lines: string[] = [];
  for (let t = fromMs; t < toMs; t += 10_000) {
    lines.push(`reseller_rate,isp=acme,reseller=fastnet in_bps=${resellerBps},out_bps=0,committed_bps=100000000,utilization_in_pct=${resellerBps / 1e6},utilization_out_pct=0,vlans=1i ${t}`);
    lines.push(`uplink_rate,isp=acme,device=edge-1 in_bps=${uplinkBps},out_bps=0,vlans=1i ${t}`);
  }
  const res = await fetch(`${influx.url}/write?db=${DB}&precision=ms`, { method: 'POST', body: lines.join('\n') });
  expect(res.status).toBe(204);
}

async function open() {
  return (await pool.query(`select kind, severity, reseller_id is not null as for_reseller from public.alerts where status <> 'resolved' order by kind, dedup_key`)).rows;
}

async function notes() {
  return (await pool.query(`select template_key, recipient from public.notifications order by created_at, recipient`)).rows;
}

beforeAll(async () => {
  [pg, influx] = await Promise.all([startMigratedPostgres(), startInflux({ database: DB })]);
  pool = pg.pool;
  inv = await seedInventory(pool, { withVlan: true });
});

afterAll(async () => {
  await influx?.stop();
  await pg?.stop();
});

beforeEach(async () => {
  await pool.query('delete from public.notifications; delete from public.alerts');
  await pool.query(`update public.resellers set thresholds = '{}'`);
  await influx.query(`DROP SERIES FROM "reseller_rate"`, DB);
  await influx.query(`DROP SERIES FROM "uplink_rate"`, DB);
  base = Date.now() - 3_600_000;
});

describe('evaluation against InfluxDB', () => {
  it('zero traffic is data: no NO_DATA and no utilization alert', async () => {
    await writeRates(base, base + 60_000, 0, 0);
    expect(await evaluator().tick(base + 60_000)).toEqual([]);
    expect(await open()).toEqual([]);
  });

  it('no samples for 3 poll intervals raises NO_DATA for reseller and device; samples resolve it', async () => {
    await writeRates(base, base + 30_000, 10e6, 10e6);
    // A freshly started evaluator has not watched long enough to call absence a fault.
    expect(await evaluator().tick(base + 51_000)).toEqual([]);
    expect(await open()).toEqual([]);
    // One that has watched since base+10 s: last sample at base+20 s, and at base+51 s the last 30 s hold none.
    const ev = evaluator();
    expect(await ev.tick(base + 10_000)).toEqual([]);
    const raised = await ev.tick(base + 51_000);
    expect(raised.map((c) => c.action.type)).toEqual(['fire', 'fire']);
    expect(await open()).toEqual([
      { kind: 'NO_DATA', severity: 'YELLOW', for_reseller: false },
      { kind: 'NO_DATA', severity: 'YELLOW', for_reseller: true },
    ]);
    // The missing reseller data did not resolve or raise utilization: nothing is read as zero.
    expect((await notes()).map((n) => n.template_key)).toEqual(['no_data', 'no_data', 'no_data']);
    await writeRates(base + 60_000, base + 70_000, 0, 0);
    const back = await evaluator().tick(base + 70_000);
    expect(back.map((c) => c.action.type)).toEqual(['resolve', 'resolve']);
    expect(await open()).toEqual([]);
  });

  it('uplink aggregate above 950 Mbps raises UPLINK to the ISP only', async () => {
    await writeRates(base, base + 60_000, 50e6, 960e6);
    await evaluator().tick(base + 60_000);
    expect(await open()).toEqual([{ kind: 'UPLINK', severity: 'RED', for_reseller: false }]);
    expect(await notes()).toEqual([{ template_key: 'uplink_high', recipient: '+15551110001' }]);
  });

  it('a per-reseller override in the database lowers the YELLOW threshold', async () => {
    await pool.query(`update public.resellers set thresholds = '{"yellow_percent": 50}' where id = $1`, [inv.resellerId]);
    await writeRates(base, base + 60_000, 60e6, 60e6);
    await evaluator().tick(base + 60_000);
    expect(await open()).toEqual([{ kind: 'UTILIZATION', severity: 'YELLOW', for_reseller: true }]);
    // ISP ops and the reseller's own contact; OtherNet's contact never.
    expect((await notes()).map((n) => n.recipient)).toEqual(['+15551110001', '+15552220002']);
  });

  it('a restarted alerter (new evaluator, same database) neither forgets nor re-sends', async () => {
    await writeRates(base, base + 60_000, 90e6, 90e6);
    expect(await evaluator().tick(base + 60_000)).toHaveLength(1);
    expect(await evaluator().tick(base + 60_000)).toEqual([]);
    expect(await notes()).toHaveLength(2);
  });

  it('for_seconds keeps the incident pending (stored, silent) until the condition has held long enough', async () => {
    await writeRates(base, base + 120_000, 90e6, 90e6);
    await evaluator(influx.url, 30).tick(base + 60_000);
    const pending = await pool.query(`select status, severity from public.alerts`);
    expect(pending.rows).toEqual([{ status: 'pending', severity: 'YELLOW' }]);
    expect(await notes()).toEqual([]);
    // A restart in between does not reset the clock: pending_since is in the database.
    expect(await evaluator(influx.url, 30).tick(base + 80_000)).toEqual([]);
    await evaluator(influx.url, 30).tick(base + 90_000);
    expect((await pool.query(`select status from public.alerts`)).rows).toEqual([{ status: 'firing' }]);
    expect(await notes()).toHaveLength(2);
  });

  it('an unreachable InfluxDB fails the tick and changes nothing (never "no data")', async () => {
    await expect(evaluator('http://127.0.0.1:9').tick(base + 60_000)).rejects.toThrow(/influx: query failed/);
    expect(await open()).toEqual([]);
  });
});
