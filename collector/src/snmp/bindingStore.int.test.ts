import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, migrate, readInventory, Secret, silentLogger, type Config, type Pool } from '@bandwatch/core';
import { startPostgres, waitFor, type PostgresServer } from '@bandwatch/core/testing';
import { parseProfile, startSimulator, type RunningSimulator } from '@bandwatch/simulator';
import { writeBindings } from './bindingStore';
import { PollScheduler, type BindingResult } from './pollScheduler';
import { snmpTestConfig } from './testing/snmpConfig';

/*
 * Inventory read from Postgres → discovery and binding on a simulated router
 * → reseller_vlans.bound_if_index / bound_if_name / binding_error written back,
 * and rewritten when the router renumbers.
 */

let pg: PostgresServer;
let pool: Pool;
let sim: RunningSimulator;

const snmpConfig = (): Pick<Config, 'snmp' | 'collector'> => ({
  snmp: snmpTestConfig({ demo_v2: { version: '2c', community: new Secret('public'), security_level: 'authPriv', auth_protocol: 'sha', priv_protocol: 'aes' } }),
  collector: {
    poll_interval_seconds: 10,
    discovery_interval_seconds: 3600,
    rollup_interval_seconds: 300,
    overspeed_tolerance_percent: 5,
    shard: { index: 0, count: 1 },
    http: { listen: '127.0.0.1', port: 9105 },
  },
});

beforeAll(async () => {
  sim = await startSimulator(
    parseProfile({
      devices: [
        {
          name: 'nw-edge-1',
          port: 0,
          community: 'public',
          interfaces: [
            { name: 'ether1.10', alias: 'acme', speed_mbps: 1000 },
            { name: 'ether1.20', alias: 'bluesky', speed_mbps: 1000 },
            { name: 'ether2.20', alias: 'other', speed_mbps: 1000 },
          ],
        },
      ],
    }),
    { logger: silentLogger() },
  );
  pg = await startPostgres();
  pool = createPool({ url: pg.url });
  await migrate(pool);
  const isp = (await pool.query(`insert into public.isps (slug, name) values ('northwind', 'Northwind') returning id`)).rows[0].id as string;
  const dev = (
    await pool.query(`insert into public.devices (isp_id, name, host, port, auth_ref) values ($1, 'nw-edge-1', '127.0.0.1', $2, 'demo_v2') returning id`, [isp, sim.devices[0]!.port])
  ).rows[0].id as string;
  for (const [slug, kind, value] of [
    ['acme-net', 'if_name', 'ether1.10'],
    ['bluesky-isp', 'vlan_id', '20'],
  ]) {
    const r = (await pool.query(`insert into public.resellers (isp_id, slug, name, committed_mbps) values ($1, $2, $2, 100) returning id`, [isp, slug])).rows[0].id as string;
    await pool.query(`insert into public.reseller_vlans (isp_id, reseller_id, device_id, match_kind, match_value) values ($1, $2, $3, $4, $5)`, [isp, r, dev, kind, value]);
  }
});

afterAll(async () => {
  await pool?.end();
  await pg?.stop();
  await sim?.stop();
});

async function rows(): Promise<Array<{ match_value: string; bound_if_index: number | null; bound_if_name: string | null; binding_error: string | null; bound_at: Date | null }>> {
  return (await pool.query('select match_value, bound_if_index, bound_if_name, binding_error, bound_at from public.reseller_vlans order by match_value')).rows;
}

describe('writeBindings', () => {
  it('writes bindings and binding errors from a real discovery, and follows a renumbering', async () => {
    const inventory = await readInventory(pool);
    const writes: Array<Promise<number>> = [];
    const seen: BindingResult[][] = [];
    const errors: Error[] = [];
    const scheduler = new PollScheduler({
      devices: inventory.devices,
      vlans: inventory.vlans,
      config: snmpConfig(),
      logger: silentLogger(),
      pollIntervalMs: 300,
      onSamples: () => undefined,
      onPollError: (_id, err) => errors.push(err),
      onBinding: (results) => {
        seen.push(results);
        writes.push(writeBindings(pool, results));
      },
    });
    scheduler.start();
    try {
      await waitFor('first binding written', async () => writes.length > 0 && (await Promise.all(writes)) && (await rows()).some((r) => r.bound_at !== null), 10000);
      const first = await rows();
      expect(first).toEqual([
        { match_value: '20', bound_if_index: null, bound_if_name: null, binding_error: expect.stringContaining('matches 2 interfaces'), bound_at: null },
        { match_value: 'ether1.10', bound_if_index: 1, bound_if_name: 'ether1.10', binding_error: null, bound_at: expect.any(Date) },
      ]);
      // Writing the same results again changes nothing (no churn on every discovery).
      expect(await writeBindings(pool, seen[0]!)).toBe(0);

      await fetch(`${sim.controlUrl}/devices/nw-edge-1/renumber`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"offset":40}' });
      await waitFor('rebound after renumbering', async () => {
        await Promise.all(writes);
        return (await rows()).find((r) => r.match_value === 'ether1.10')?.bound_if_index === 41;
      }, 10000);
      expect((await rows()).find((r) => r.match_value === 'ether1.10')?.bound_if_name).toBe('ether1.10');
      expect(errors).toEqual([]);
    } finally {
      await scheduler.stop();
      await Promise.all(writes);
    }
  });
});
