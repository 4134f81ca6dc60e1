import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, type Pool } from '@bandwatch/core';
import { waitFor } from '@bandwatch/core/testing';
import { seedInventory, startMigratedPostgres, testConfig, type MigratedPostgres, type SeededInventory } from '../testing/alerterFixture';
import { LinkProcessor } from './linkProcessor';
import { LinkListener } from './linkListener';

/*
 * Link rules against real Postgres: the collector's link_events INSERT fires
 * NOTIFY bandwatch_link_events, the alerter's LISTEN connection reacts.
 */

let pg: MigratedPostgres;
let pool: Pool;
let inv: SeededInventory;
let listener: LinkListener;
const config = testConfig({
  postgres: { url: 'postgres://unused' },
  influx: { url: 'http://127.0.0.1:1', database: 'x' },
  alerting: { link: { flap_count: 4, flap_window_seconds: 900 } },
});

/** What the collector's link state machine writes for one transition. */
async function transition(from: string, to: string): Promise<void> {
  await pool.query(
    `insert into public.link_state (reseller_ip_id, isp_id, reseller_id, state, since) values ($1, $2, $3, $4, now())
     on conflict (reseller_ip_id) do update set state = excluded.state, since = excluded.since, updated_at = now()`,
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

async function alerts() {
  return (await pool.query(`select kind, status, severity, details from public.alerts order by started_at, kind`)).rows;
}

async function notifications() {
  return (await pool.query(`select template_key, recipient, audience, status, body from public.notifications order by created_at, recipient`)).rows;
}

async function eventsProcessed(n: number): Promise<void> {
  // Each processed transition leaves the queue; wait until the alert_events count settles at n.
  await waitFor(`${n} alert events`, async () => Number((await pool.query('select count(*) as n from public.alert_events')).rows[0].n) === n);
}

beforeAll(async () => {
  pg = await startMigratedPostgres();
  pool = pg.pool;
  inv = await seedInventory(pool);
  const processor = new LinkProcessor(pool, config, 'twilio-whatsapp', () => undefined);
  listener = new LinkListener(pg.server.url, processor, silentLogger());
  await listener.start();
});

afterAll(async () => {
  await listener?.stop();
  await pg?.stop();
});

beforeEach(async () => {
  await pool.query('delete from public.notifications; delete from public.alerts; delete from public.link_events; delete from public.link_state; delete from public.silences');
});

describe('link incidents from NOTIFY', () => {
  it('DOWN raises LINK_DOWN for the ISP and that reseller only; UP resolves it', async () => {
    await transition('UNKNOWN', 'UP');
    await transition('UP', 'DOWN');
    await waitFor('LINK_DOWN', async () => (await alerts()).some((a) => a.kind === 'LINK_DOWN'));
    let n = await notifications();
    expect(n.map((x) => [x.template_key, x.recipient, x.audience, x.status])).toEqual([
      ['link_down', '+15551110001', 'isp', 'pending'],
      ['link_down', '+15552220002', 'reseller', 'pending'],
    ]);
    // OtherNet's contact (+15553330003) never hears about FastNet.
    expect(n.some((x) => x.recipient === '+15553330003')).toBe(false);
    expect(n[0]?.body).toContain('LINK DOWN: FastNet pop-a (10.99.7.1)');

    await transition('DOWN', 'UP');
    await waitFor('resolved', async () => (await alerts()).every((a) => a.status === 'resolved'));
    n = await notifications();
    expect(n.filter((x) => x.template_key === 'link_up')).toHaveLength(2);
  });

  it('a flapping link raises one LINK_FLAPPING instead of a message per transition', async () => {
    await transition('UNKNOWN', 'UP');
    const states = ['DOWN', 'UP', 'DOWN', 'UP', 'DOWN', 'UP', 'DOWN', 'UP'];
    let from = 'UP';
    for (const to of states) {
      await transition(from, to);
      from = to;
    }
    // 8 transitions: 4 LINK_DOWN open/resolve events each time plus one LINK_FLAPPING raise.
    await eventsProcessed(9);
    const a = await alerts();
    expect(a.filter((x) => x.kind === 'LINK_FLAPPING')).toHaveLength(1);
    expect(a.find((x) => x.kind === 'LINK_FLAPPING')?.status).toBe('firing');
    const n = await notifications();
    const perRecipient = n.filter((x) => x.recipient === '+15551110001').map((x) => x.template_key);
    // Transitions 1-4 page as usual, the 5th raises flapping and everything after is recorded silently.
    expect(perRecipient).toEqual(['link_down', 'link_up', 'link_down', 'link_up', 'link_flapping']);
  });

  it('a maintenance window records the incident and suppresses its notifications', async () => {
    await pool.query(`insert into public.silences (isp_id, reseller_id, starts_at, ends_at, reason) values ($1, $2, now() - interval '1 minute', now() + interval '1 hour', 'fibre splice')`, [
      inv.ispId,
      inv.resellerId,
    ]);
    await transition('UNKNOWN', 'UP');
    await transition('UP', 'DOWN');
    await waitFor('LINK_DOWN', async () => (await alerts()).some((a) => a.kind === 'LINK_DOWN'));
    expect((await notifications()).map((x) => x.status)).toEqual(['suppressed', 'suppressed']);
    await transition('DOWN', 'UP');
    await waitFor('resolved', async () => (await alerts()).every((a) => a.status === 'resolved'));
    // The resolution of a raise nobody was paged for pages nobody either.
    expect(await notifications()).toHaveLength(2);
  });

  it('a restarted alerter neither forgets nor re-sends: reconcile after restart is a no-op', async () => {
    await transition('UNKNOWN', 'UP');
    await transition('UP', 'DOWN');
    await waitFor('LINK_DOWN', async () => (await alerts()).some((a) => a.kind === 'LINK_DOWN'));
    const fresh = new LinkProcessor(pool, config, 'twilio-whatsapp', () => undefined);
    expect(await fresh.reconcile()).toEqual([]);
    expect(await notifications()).toHaveLength(2);
  });

  it('a DOWN missed while disconnected is caught by reconcile from link_state', async () => {
    await pool.query(`insert into public.link_state (reseller_ip_id, isp_id, reseller_id, state) values ($1, $2, $3, 'DOWN')`, [inv.resellerIpId, inv.ispId, inv.resellerId]);
    const fresh = new LinkProcessor(pool, config, 'twilio-whatsapp', () => undefined);
    const changes = await fresh.reconcile();
    expect(changes.map((c) => c.action.type)).toEqual(['fire']);
    expect((await alerts())[0]).toMatchObject({ kind: 'LINK_DOWN', status: 'firing' });
  });
});
