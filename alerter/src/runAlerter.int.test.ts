import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Pool } from '@bandwatch/core';
import { freeTcpPort, startInflux, waitFor, type InfluxServer } from '@bandwatch/core/testing';
import { seedInventory, startMigratedPostgres, testConfig, type MigratedPostgres, type SeededInventory } from './testing/alerterFixture';
import { runAlerter } from './index';

/*
 * runAlerter as the CLI calls it, without a twilio section (channel auto →
 * console), two instances on one database: one active, one standby that takes
 * over when the active one stops.
 */

let pg: MigratedPostgres;
let pool: Pool;
let influx: InfluxServer;
let inv: SeededInventory;
const running: Array<{ stop: AbortController; done: Promise<unknown> }> = [];

async function instance() {
  const port = await freeTcpPort();
  const printed: string[] = [];
  const stop = new AbortController();
  const config = testConfig({
    postgres: { url: pg.server.url },
    influx: { url: influx.url, database: 'bandwatch' },
    alerting: { evaluation_interval_seconds: 30, dispatch: { recipient_min_gap_seconds: 0 }, http: { listen: '127.0.0.1', port } },
  });
  const done = runAlerter(config, { logger: silentLogger(), signal: stop.signal, consoleWrite: (l) => printed.push(l) });
  running.push({ stop, done: done.catch(() => undefined) });
  const health = async () => (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { role: string; channel: string };
  return { port, printed, stop, done, health };
}

async function transition(from: string, to: string): Promise<void> {
  await pool.query(
    `insert into public.link_state (reseller_ip_id, isp_id, reseller_id, state) values ($1, $2, $3, $4)
     on conflict (reseller_ip_id) do update set state = excluded.state, since = now(), updated_at = now()`,
    [inv.resellerIpId, inv.ispId, inv.resellerId, to],
  );
  await pool.query(`insert into public.link_events (reseller_ip_id, isp_id, reseller_id, from_state, to_state) values ($1, $2, $3, $4, $5)`, [
    inv.resellerIpId,
    inv.ispId,
    inv.resellerId,
    from,
    to,
  ]);
}

beforeAll(async () => {
  [pg, influx] = await Promise.all([startMigratedPostgres(), startInflux({ database: 'bandwatch' })]);
  pool = pg.pool;
  inv = await seedInventory(pool);
});

afterAll(async () => {
  for (const r of running) r.stop.abort();
  await Promise.all(running.map((r) => r.done));
  await influx?.stop();
  await pg?.stop();
});

describe('runAlerter', () => {
  it('console channel prints the exact message; a standby takes over when the active alerter stops', async () => {
    const a = await instance();
    await waitFor('A active', async () => (await a.health()).role === 'active');
    const b = await instance();
    await waitFor('B up', async () => (await b.health()).role === 'standby');
    expect((await a.health()).channel).toBe('console');

    await transition('UNKNOWN', 'UP');
    const t0 = Date.now();
    await transition('UP', 'DOWN');
    await waitFor('first LINK DOWN printed', () => a.printed.length >= 1, 15_000, 5);
    const firstMs = Date.now() - t0;
    await waitFor('LINK DOWN printed', () => a.printed.length === 2, 15_000, 5);
    const latency = Date.now() - t0;
    // Sends run concurrently: order the two prints by recipient.
    a.printed.sort();
    expect(a.printed[0]).toMatch(/^\[alert → \+15551110001 · link_down · [0-9a-f-]{36}\]\n🔴 LINK DOWN: FastNet pop-a \(10\.99\.7\.1\) unreachable since .* UTC\. ISP: Acme ISP\n$/);
    expect(a.printed[1]).toContain('[alert → +15552220002 · link_down');
    expect(b.printed).toEqual([]);
    // The second message waits one slot of the per-sender rate limit (10/s → 100 ms).
    console.log(`link DOWN NOTIFY → console messages in ${firstMs} ms and ${latency} ms`);

    a.stop.abort();
    await a.done;
    await waitFor('B takes over', async () => (await b.health()).role === 'active', 15_000);
    await transition('DOWN', 'UP');
    await waitFor('LINK UP printed by B', () => b.printed.length === 2);
    b.printed.sort();
    expect(b.printed[0]).toContain('LINK UP: FastNet pop-a (10.99.7.1) reachable again');
    const statuses = await pool.query(`select status from public.notifications order by created_at`);
    expect(statuses.rows.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);

    // The LISTEN connection dies: the listener reconnects and the next transition still pages.
    await pool.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'bandwatch-alerter-listen'`);
    await waitFor('listener reconnected', async () => {
      const r = await pool.query(`select count(*)::int as n from pg_stat_activity where application_name = 'bandwatch-alerter-listen'`);
      return r.rows[0].n === 1;
    });
    await transition('UP', 'DOWN');
    await waitFor('LINK DOWN after reconnect', () => b.printed.length === 4);

    // The lease connection dies: B steps down, takes the lease again and carries on.
    await pool.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'bandwatch-alerter-lease'`);
    await waitFor('B steps down', async () => (await b.health()).role === 'standby', 5_000, 20);
    await waitFor('B active again', async () => {
      const r = await pool.query(`select count(*)::int as n from pg_stat_activity where application_name = 'bandwatch-alerter-lease'`);
      return r.rows[0].n === 1 && (await b.health()).role === 'active';
    }, 15_000);
    await transition('DOWN', 'UP');
    await waitFor('LINK UP after lease regained', () => b.printed.length === 6);
    expect(b.printed.slice(4).join('')).toContain('LINK UP');
    b.stop.abort();
    await b.done;
  }, 60_000);
});
