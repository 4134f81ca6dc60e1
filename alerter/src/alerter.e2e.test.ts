import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Pool } from '@bandwatch/core';
import { freeTcpPort, startInflux, waitFor, type InfluxServer } from '@bandwatch/core/testing';
import {
  TEMPLATE_RED,
  TEMPLATE_RESOLVED,
  TEMPLATE_YELLOW,
  TEST_ACCOUNT_SID,
  TEST_AUTH_TOKEN,
  TEST_FROM,
  seedInventory,
  startMigratedPostgres,
  testConfig,
  type MigratedPostgres,
  type SeededInventory,
} from './testing/alerterFixture';
import { postStatusCallback, startTwilioLoopback, type RecordedRequest, type TwilioLoopback } from './testing/twilioLoopback';
import { runAlerter } from './index';

/*
 * Whole stack: real Postgres (migrated, inventory in the DB), real InfluxDB
 * holding reseller_rate/uplink_rate points in the collector's contract
 * format, runAlerter exactly as the CLI calls it, and the real twilio SDK
 * talking to the loopback Messages API. The collector's runCollector does not
 * exist yet, so this test writes the points the collector would write.
 */

const DB = 'bandwatch';
const WINDOW_S = 30;
const COMMITTED_MBPS = 100;
let pg: MigratedPostgres;
let pool: Pool;
let influx: InfluxServer;
let tw: TwilioLoopback;
let inv: SeededInventory;
let httpPort: number;
const stop = new AbortController();
let alerter: Promise<void>;
const samples: Array<{ atMs: number; pct: number }> = [];
let currentPct = 50;
let writer: NodeJS.Timeout | undefined;

/** Line protocol exactly as collector/src/contracts.ts describes reseller_rate and uplink_rate. */
function lines(atMs: number, pct: number): string {
  const bps = (pct / 100) * COMMITTED_MBPS * 1e6;
  const out = bps * 0.2;
  return [
    `reseller_rate,isp=${inv.ispSlug},reseller=${inv.resellerSlug} in_bps=${bps},out_bps=${out},committed_bps=${COMMITTED_MBPS * 1e6},utilization_in_pct=${pct},utilization_out_pct=${pct * 0.2},vlans=1i ${atMs}`,
    `uplink_rate,isp=${inv.ispSlug},device=${inv.deviceName} in_bps=${bps},out_bps=${out},vlans=1i ${atMs}`,
  ].join('\n');
}

async function write(atMs: number, pct: number): Promise<void> {
  const res = await fetch(`${influx.url}/write?db=${DB}&precision=ms`, { method: 'POST', body: lines(atMs, pct) });
  if (res.status !== 204) throw new Error(`influx write ${res.status}: ${await res.text()}`);
  samples.push({ atMs, pct });
}

/** The first sample after `sinceMs` whose inclusion puts the window mean across the line. */
function confirmingSample(sinceMs: number, crosses: (mean: number) => boolean): { atMs: number; mean: number } {
  for (const s of samples.filter((x) => x.atMs >= sinceMs)) {
    const win = samples.filter((x) => x.atMs > s.atMs - WINDOW_S * 1000 && x.atMs <= s.atMs);
    const mean = win.reduce((a, x) => a + x.pct, 0) / win.length;
    if (crosses(mean)) return { atMs: s.atMs, mean };
  }
  throw new Error('no confirming sample');
}

async function nextRequest(count: number, timeoutMs = 60_000): Promise<RecordedRequest> {
  return waitFor(`Twilio request #${count}`, () => tw.requests[count - 1], timeoutMs, 20);
}

beforeAll(async () => {
  [pg, influx, tw] = await Promise.all([startMigratedPostgres(), startInflux({ database: DB }), startTwilioLoopback()]);
  pool = pg.pool;
  // One ISP ops number, no reseller contact: every change is exactly one WhatsApp request.
  inv = await seedInventory(pool, { withVlan: true, resellerContacts: [], committedMbps: COMMITTED_MBPS });
  // History: the reseller has been at 50 % for the last 40 s.
  const now = Date.now();
  for (let t = now - 40_000; t < now; t += 1000) await write(t, 50);
  writer = setInterval(() => void write(Date.now(), currentPct).catch(() => undefined), 1000);
  httpPort = await freeTcpPort();
  const config = testConfig({
    postgres: { url: pg.server.url },
    influx: { url: influx.url, api: 'v1', database: DB },
    collector: { poll_interval_seconds: 10 },
    alerting: {
      evaluation_interval_seconds: 5,
      utilization: { window_seconds: WINDOW_S },
      no_data: { intervals: 3 },
      dispatch: { recipient_min_gap_seconds: 0, backoff_initial_ms: 200 },
      http: { listen: '127.0.0.1', port: httpPort },
    },
    twilio: {
      account_sid: TEST_ACCOUNT_SID,
      auth_token: TEST_AUTH_TOKEN,
      from: TEST_FROM,
      api_base_url: tw.url,
      templates: { utilization_yellow: TEMPLATE_YELLOW, utilization_red: TEMPLATE_RED, utilization_resolved: TEMPLATE_RESOLVED },
    },
  });
  alerter = runAlerter(config, { logger: silentLogger(), signal: stop.signal });
  await waitFor('alerter healthz', async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok);
}, 120_000);

afterAll(async () => {
  clearInterval(writer);
  stop.abort();
  await alerter?.catch(() => undefined);
  await tw?.close();
  await influx?.stop();
  await pg?.stop();
});

describe('alerter end to end', () => {
  it('85 % → one YELLOW incident and one WhatsApp request; 105 % → RED; 50 % → resolution', async () => {
    // A few ticks at 50 %: nothing to say.
    await new Promise((r) => setTimeout(r, 6000));
    expect(tw.requests).toHaveLength(0);

    const step85 = Date.now();
    currentPct = 85;
    const yellow = await nextRequest(1);
    const c1 = confirmingSample(step85, (m) => m >= 80);
    expect(yellow.form).toMatchObject({ From: TEST_FROM, To: 'whatsapp:+15551110001', ContentSid: TEMPLATE_YELLOW });
    expect(JSON.parse(yellow.form.ContentVariables as string)).toMatchObject({ '1': 'FastNet', '3': 'in', '4': '100 Mbps', '6': 'Acme ISP' });
    expect(yellow.form.StatusCallback).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${httpPort}/webhooks/twilio/status\\?notification_id=`));
    const open = await pool.query(`select kind, severity, status from public.alerts`);
    expect(open.rows).toEqual([{ kind: 'UTILIZATION', severity: 'YELLOW', status: 'firing' }]);

    // Twilio reports delivery through the alerter's own webhook.
    const delivered = await postStatusCallback(yellow.form.StatusCallback as string, { MessageSid: await providerIdOf(yellow), MessageStatus: 'delivered' }, TEST_AUTH_TOKEN);
    expect(delivered.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toContain('bandwatch_alerter_incidents_firing{kind="UTILIZATION",severity="YELLOW"} 1');

    const step105 = Date.now();
    currentPct = 105;
    const red = await nextRequest(2);
    const c2 = confirmingSample(step105, (m) => m >= 100);
    expect(red.form.ContentSid).toBe(TEMPLATE_RED);

    // On the way down the window mean passes the YELLOW band first: the same
    // incident de-escalates (one message), then resolves below 75 %.
    const step50 = Date.now();
    currentPct = 50;
    const deescalated = await nextRequest(3);
    expect(deescalated.form.ContentSid).toBe(TEMPLATE_YELLOW);
    const resolved = await nextRequest(4);
    const c3 = confirmingSample(step50, (m) => m < 75);
    expect(resolved.form.ContentSid).toBe(TEMPLATE_RESOLVED);

    // One incident whose severity changed, with its timeline; nothing else was sent.
    await new Promise((r) => setTimeout(r, 6000));
    expect(tw.requests).toHaveLength(4);
    const alerts = await pool.query(`select id, status, severity from public.alerts`);
    expect(alerts.rows).toHaveLength(1);
    expect(alerts.rows[0]).toMatchObject({ status: 'resolved', severity: 'YELLOW' });
    const events = await pool.query(`select from_status, to_status, from_severity, to_severity from public.alert_events order by id`);
    expect(events.rows).toEqual([
      { from_status: null, to_status: 'firing', from_severity: null, to_severity: 'YELLOW' },
      { from_status: 'firing', to_status: 'firing', from_severity: 'YELLOW', to_severity: 'RED' },
      { from_status: 'firing', to_status: 'firing', from_severity: 'RED', to_severity: 'YELLOW' },
      { from_status: 'firing', to_status: 'resolved', from_severity: 'YELLOW', to_severity: 'YELLOW' },
    ]);
    const notes = await pool.query(`select template_key, status from public.notifications order by created_at`);
    expect(notes.rows).toEqual([
      { template_key: 'utilization_yellow', status: 'delivered' },
      { template_key: 'utilization_red', status: 'queued' },
      { template_key: 'utilization_yellow', status: 'queued' },
      { template_key: 'utilization_resolved', status: 'queued' },
    ]);

    const latencies = [yellow.atMs - c1.atMs, red.atMs - c2.atMs, resolved.atMs - c3.atMs];
    console.log(
      `latency confirming sample → provider request: YELLOW ${latencies[0]} ms, RED ${latencies[1]} ms, resolved ${latencies[2]} ms ` +
        `(evaluation every 5 s; window means at confirmation ${c1.mean.toFixed(1)} %, ${c2.mean.toFixed(1)} %, ${c3.mean.toFixed(1)} %)`,
    );
    for (const l of latencies) {
      expect(l).toBeGreaterThanOrEqual(0);
      // One evaluation period plus the settle delay and dispatch.
      expect(l).toBeLessThan(8000);
    }
  }, 180_000);
});

async function providerIdOf(req: RecordedRequest): Promise<string> {
  return waitFor('provider id recorded', async () => {
    const r = await pool.query('select provider_id from public.notifications where id = $1', [req.notificationId]);
    return (r.rows[0]?.provider_id as string | null) ?? undefined;
  });
}
