import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyInventory, createPool, migrate, parseConfig, silentLogger, type Config, type Pool } from '@bandwatch/core';
import { freeTcpPort, makeTempDir, startInflux, startPostgres, waitFor, type InfluxServer, type PostgresServer } from '@bandwatch/core/testing';
import { parseProfile, startSimulator, type RunningSimulator } from '@bandwatch/simulator';
import { runCollector } from '@bandwatch/collector';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { TEMPLATE_RED, TEMPLATE_RESOLVED, TEMPLATE_YELLOW, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_FROM } from './testing/alerterFixture';
import { startTwilioLoopback, type RecordedRequest, type TwilioLoopback } from './testing/twilioLoopback';
import { runAlerter } from './index';

/*
 * The whole pipeline, nothing written by hand: the simulator's router serves
 * real SNMP counters, runCollector polls it (1 s test seam) and writes
 * reseller_rate to InfluxDB, runAlerter evaluates and sends through the real
 * twilio SDK to the loopback Messages API. Traffic is stepped on the
 * simulator's control API: 50 % → 85 % → 105 % → 50 % of committed.
 */

const DB = 'bandwatch';
const WINDOW_S = 30;
let pg: PostgresServer;
let pool: Pool;
let influx: InfluxServer;
let sim: RunningSimulator;
let tw: TwilioLoopback;
let dir: string;
let config: Config;
const stop = new AbortController();
const services: Array<Promise<void>> = [];

async function setRate(mbps: number): Promise<number> {
  const res = await fetch(`${sim.controlUrl}/devices/e2e-edge/interfaces/${encodeURIComponent('ether1.10')}/model`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ in: { kind: 'constant', mbps } }),
  });
  expect(res.ok).toBe(true);
  return Date.now();
}

/** Reseller samples the collector wrote, as utilization % of committed. */
async function samples(): Promise<Array<{ atMs: number; pct: number }>> {
  const r = await influx.query(`SELECT utilization_in_pct FROM reseller_rate WHERE reseller = 'e2e-net'`, DB);
  return (r.results[0]?.series?.[0]?.values ?? []).map((v) => ({ atMs: Number(v[0]), pct: Number(v[1]) }));
}

async function confirmingSample(sinceMs: number, beforeMs: number, crosses: (mean: number) => boolean): Promise<{ atMs: number; mean: number }> {
  const all = await samples();
  for (const s of all.filter((x) => x.atMs >= sinceMs && x.atMs <= beforeMs)) {
    const win = all.filter((x) => x.atMs > s.atMs - WINDOW_S * 1000 && x.atMs <= s.atMs);
    const mean = win.reduce((a, x) => a + x.pct, 0) / win.length;
    if (crosses(mean)) return { atMs: s.atMs, mean };
  }
  throw new Error('no confirming sample before the request');
}

async function request(n: number): Promise<RecordedRequest> {
  return waitFor(`Twilio request #${n}`, () => tw.requests[n - 1], 90_000, 20);
}

beforeAll(async () => {
  dir = makeTempDir('alerter-collector-e2e');
  sim = await startSimulator(
    parseProfile({
      devices: [
        {
          name: 'e2e-edge',
          port: 0,
          community: 'public',
          interfaces: [{ name: 'ether1.10', alias: 'E2E', speed_mbps: 1000, in: { kind: 'constant', mbps: 50 }, out_ratio: 0.1 }],
        },
      ],
    }),
    { logger: silentLogger() },
  );
  [pg, influx, tw] = await Promise.all([startPostgres(), startInflux({ database: DB }), startTwilioLoopback()]);
  const [collectorPort, alerterPort] = [await freeTcpPort(), await freeTcpPort()];
  config = parseConfig(
    `
postgres: { url: "${pg.url}" }
influx: { url: "${influx.url}", database: ${DB}, flush_interval_ms: 200, spool: { dir: "${join(dir, 'spool')}" } }
snmp: { timeout_ms: 500, retries: 0, auths: { v2: { version: 2c, community: public } } }
collector: { poll_interval_seconds: 10, http: { listen: 127.0.0.1, port: ${collectorPort} } }
alerting:
  evaluation_interval_seconds: 5
  utilization: { window_seconds: ${WINDOW_S} }
  dispatch: { recipient_min_gap_seconds: 0 }
  http: { listen: 127.0.0.1, port: ${alerterPort} }
twilio:
  account_sid: ${TEST_ACCOUNT_SID}
  auth_token: ${TEST_AUTH_TOKEN}
  from: "${TEST_FROM}"
  api_base_url: ${tw.url}
  templates: { utilization_yellow: ${TEMPLATE_YELLOW}, utilization_red: ${TEMPLATE_RED}, utilization_resolved: ${TEMPLATE_RESOLVED} }
inventory:
  isps:
    - slug: e2e-isp
      name: E2E ISP
      ops_contacts: [{ name: NOC, whatsapp: "+15551110001" }]
      devices: [{ name: e2e-edge, host: 127.0.0.1, port: ${sim.devices[0]?.port}, auth: v2 }]
      resellers:
        - slug: e2e-net
          name: E2E Net
          committed_mbps: 100
          vlans: [{ device: e2e-edge, if_name: ether1.10 }]
`,
    'alerterCollector.e2e.yaml',
    {},
  );
  pool = createPool({ url: pg.url });
  await migrate(pool);
  await applyInventory(pool, config.inventory);
  services.push(runCollector(config, { logger: silentLogger(), signal: stop.signal, pollIntervalMs: 1000 }));
  // 30 s of 50 % history before the alerter starts watching.
  await waitFor('collector history', async () => (await samples()).length >= WINDOW_S, 90_000, 500);
  services.push(runAlerter(config, { logger: silentLogger(), signal: stop.signal }));
}, 180_000);

afterAll(async () => {
  stop.abort();
  await Promise.allSettled(services);
  await pool?.end();
  await Promise.all([tw?.close(), influx?.stop(), pg?.stop(), sim?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('simulator → collector → alerter → WhatsApp', () => {
  it('85 % → one YELLOW request; 105 % → RED; 50 % → resolution, with measured latency', async () => {
    await new Promise((r) => setTimeout(r, 6000));
    expect(tw.requests).toHaveLength(0);

    const s85 = await setRate(85);
    const yellow = await request(1);
    expect(yellow.form.ContentSid).toBe(TEMPLATE_YELLOW);
    expect((await pool.query(`select kind, severity, status from public.alerts`)).rows).toEqual([{ kind: 'UTILIZATION', severity: 'YELLOW', status: 'firing' }]);
    const c1 = await confirmingSample(s85, yellow.atMs, (m) => m >= 80);

    const s105 = await setRate(105);
    const red = await request(2);
    expect(red.form.ContentSid).toBe(TEMPLATE_RED);
    const c2 = await confirmingSample(s105, red.atMs, (m) => m >= 100);

    const s50 = await setRate(50);
    const down = await request(3);
    expect(down.form.ContentSid).toBe(TEMPLATE_YELLOW); // de-escalated on the way down
    const resolved = await request(4);
    expect(resolved.form.ContentSid).toBe(TEMPLATE_RESOLVED);
    const c3 = await confirmingSample(s50, resolved.atMs, (m) => m < 75);

    await new Promise((r) => setTimeout(r, 6000));
    expect(tw.requests).toHaveLength(4);
    const alerts = await pool.query(`select status from public.alerts`);
    expect(alerts.rows).toEqual([{ status: 'resolved' }]);
    const latencies = [yellow.atMs - c1.atMs, red.atMs - c2.atMs, resolved.atMs - c3.atMs];
    console.log(
      `[collector e2e] latency confirming sample → provider request: YELLOW ${latencies[0]} ms, RED ${latencies[1]} ms, resolved ${latencies[2]} ms ` +
        `(window means ${c1.mean.toFixed(1)} %, ${c2.mean.toFixed(1)} %, ${c3.mean.toFixed(1)} %)`,
    );
    for (const l of latencies) expect(l).toBeLessThan(10_000);
  }, 300_000);
});
