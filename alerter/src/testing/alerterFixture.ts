import { createPool, makeConfigSchema, migrate, type Config, type Pool } from '@bandwatch/core';
import { startPostgres, type PostgresServer } from '@bandwatch/core/testing';

/*
 * Named fixtures for alerter tests: a migrated private Postgres and an
 * inventory inserted the way `inventory apply` would leave it.
 */

export const TEST_ACCOUNT_SID = `AC${'a1'.repeat(16)}`;
export const TEST_AUTH_TOKEN = 'test-auth-token-0123456789abcdef';
export const TEST_FROM = 'whatsapp:+15550000001';
export const TEMPLATE_YELLOW = `HX${'1'.repeat(32)}`;
export const TEMPLATE_RED = `HX${'2'.repeat(32)}`;
export const TEMPLATE_RESOLVED = `HX${'3'.repeat(32)}`;
export const TEMPLATE_LINK_DOWN = `HX${'4'.repeat(32)}`;

export interface MigratedPostgres {
  server: PostgresServer;
  pool: Pool;
  stop(): Promise<void>;
}

export async function startMigratedPostgres(): Promise<MigratedPostgres> {
  const server = await startPostgres();
  const pool = createPool({ url: server.url, pool_max: 8 });
  await migrate(pool);
  return {
    server,
    pool,
    async stop() {
      await pool.end();
      await server.stop();
    },
  };
}

export interface SeededInventory {
  ispId: string;
  ispSlug: string;
  resellerId: string;
  resellerSlug: string;
  otherResellerId: string;
  deviceId: string;
  deviceName: string;
  resellerIpId: string;
}

export interface SeedOptions {
  opsContacts?: Array<{ name: string; whatsapp: string }>;
  resellerContacts?: Array<{ name: string; whatsapp: string }>;
  committedMbps?: number;
  /** Bind a VLAN so the reseller and device are monitored for traffic (and NO_DATA). */
  withVlan?: boolean;
}

export async function seedInventory(pool: Pool, o: SeedOptions = {}): Promise<SeededInventory> {
  const isp = await pool.query(`insert into public.isps (slug, name, ops_contacts) values ('acme', 'Acme ISP', $1) returning id`, [
    JSON.stringify(o.opsContacts ?? [{ name: 'NOC', whatsapp: '+15551110001' }]),
  ]);
  const ispId = isp.rows[0].id as string;
  const dev = await pool.query(`insert into public.devices (isp_id, name, host, auth_ref) values ($1, 'edge-1', '127.0.0.1', 'lab') returning id`, [ispId]);
  const deviceId = dev.rows[0].id as string;
  const r = await pool.query(
    `insert into public.resellers (isp_id, slug, name, committed_mbps, contacts) values ($1, 'fastnet', 'FastNet', $2, $3) returning id`,
    [ispId, o.committedMbps ?? 100, JSON.stringify(o.resellerContacts ?? [{ name: 'FastNet ops', whatsapp: '+15552220002' }])],
  );
  const resellerId = r.rows[0].id as string;
  const other = await pool.query(
    `insert into public.resellers (isp_id, slug, name, committed_mbps, contacts) values ($1, 'othernet', 'OtherNet', 50, $2) returning id`,
    [ispId, JSON.stringify([{ name: 'Other ops', whatsapp: '+15553330003' }])],
  );
  if (o.withVlan) {
    await pool.query(`insert into public.reseller_vlans (isp_id, reseller_id, device_id, match_kind, match_value) values ($1, $2, $3, 'vlan_id', '10')`, [
      ispId,
      resellerId,
      deviceId,
    ]);
  }
  const ip = await pool.query(`insert into public.reseller_ips (isp_id, reseller_id, address, label) values ($1, $2, '10.99.7.1', 'pop-a') returning id`, [ispId, resellerId]);
  return {
    ispId,
    ispSlug: 'acme',
    resellerId,
    resellerSlug: 'fastnet',
    otherResellerId: other.rows[0].id as string,
    deviceId,
    deviceName: 'edge-1',
    resellerIpId: ip.rows[0].id as string,
  };
}

/** A full, validated Config (the same schema the CLI loads) with test defaults and overrides. */
export function testConfig(raw: Record<string, unknown>): Config {
  return makeConfigSchema({}).parse(raw);
}
