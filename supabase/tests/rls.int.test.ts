import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asAnon, asUser, createPool, migrate, type Pool, type PoolClient } from '@bandwatch/core';
import { startPostgres, type PostgresServer } from '@bandwatch/core/testing';

/*
 * The tenant-isolation matrix: every tenant table × every role, acting as the
 * user exactly as PostgREST/Supabase does (set local role authenticated +
 * request.jwt.claims). Each role must see exactly its own rows, be refused
 * (42501) when inserting into another tenant and change 0 rows of it.
 */

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

// Two ISPs, two resellers each.
const ISP = { A: id(1), B: id(2) };
const RES = { A1: id(11), A2: id(12), B1: id(21), B2: id(22) };
const DEV = { A: id(31), B: id(32) };
const IP = { A1: id(41), A2: id(42), B1: id(43), B2: id(44) };
const ALERT = { A1: id(51), A: id(52), B1: id(53) };

type RoleName = 'owner' | 'ispA_admin' | 'ispA_viewer' | 'resellerA1' | 'ispB_admin' | 'resellerB1';
const USERS: Record<RoleName, { uid: string; role: string; isp: string | null; reseller: string | null }> = {
  owner: { uid: id(901), role: 'owner', isp: null, reseller: null },
  ispA_admin: { uid: id(902), role: 'isp_admin', isp: ISP.A, reseller: null },
  ispA_viewer: { uid: id(903), role: 'isp_viewer', isp: ISP.A, reseller: null },
  resellerA1: { uid: id(904), role: 'reseller', isp: ISP.A, reseller: RES.A1 },
  ispB_admin: { uid: id(905), role: 'isp_admin', isp: ISP.B, reseller: null },
  resellerB1: { uid: id(906), role: 'reseller', isp: ISP.B, reseller: RES.B1 },
};

/** Which tenant a row belongs to: its ISP and, when it has one, its reseller. */
interface Owner {
  isp: string;
  reseller: string | null;
}

/** What a user must see of a row, from the rules the policies implement. */
function canSee(user: RoleName, owner: Owner, table: string): boolean {
  const u = USERS[user];
  if (u.role === 'owner') return true;
  if (u.role === 'isp_admin' || u.role === 'isp_viewer') return owner.isp === u.isp;
  // A reseller user reads only rows that carry its reseller id (never ISP-level rows such as devices).
  if (table === 'isps' || table === 'devices') return false;
  return owner.reseller !== null && owner.reseller === u.reseller;
}

const resellerIsp = (r: string) => (r === RES.A1 || r === RES.A2 ? ISP.A : ISP.B);
const ALL_RESELLERS = [RES.A1, RES.A2, RES.B1, RES.B2];

/** Key column per table, to list what a query returned. */
const TABLES: Record<string, { key: string; rows: Array<{ key: string; owner: Owner }> }> = {
  isps: { key: 'id', rows: [ISP.A, ISP.B].map((i) => ({ key: i, owner: { isp: i, reseller: null } })) },
  devices: { key: 'id', rows: [DEV.A, DEV.B].map((d, n) => ({ key: d, owner: { isp: n === 0 ? ISP.A : ISP.B, reseller: null } })) },
  resellers: { key: 'id', rows: ALL_RESELLERS.map((r) => ({ key: r, owner: { isp: resellerIsp(r), reseller: r } })) },
  reseller_vlans: { key: 'reseller_id', rows: ALL_RESELLERS.map((r) => ({ key: r, owner: { isp: resellerIsp(r), reseller: r } })) },
  reseller_ips: { key: 'reseller_id', rows: ALL_RESELLERS.map((r) => ({ key: r, owner: { isp: resellerIsp(r), reseller: r } })) },
  usage_5m: { key: 'reseller_id', rows: ALL_RESELLERS.map((r) => ({ key: r, owner: { isp: resellerIsp(r), reseller: r } })) },
  link_state: { key: 'reseller_id', rows: ALL_RESELLERS.map((r) => ({ key: r, owner: { isp: resellerIsp(r), reseller: r } })) },
  link_events: { key: 'reseller_id', rows: ALL_RESELLERS.map((r) => ({ key: r, owner: { isp: resellerIsp(r), reseller: r } })) },
  silences: { key: 'reseller_id', rows: ALL_RESELLERS.map((r) => ({ key: r, owner: { isp: resellerIsp(r), reseller: r } })) },
  alerts: {
    key: 'id',
    rows: [
      { key: ALERT.A1, owner: { isp: ISP.A, reseller: RES.A1 } },
      { key: ALERT.A, owner: { isp: ISP.A, reseller: null } }, // an uplink alert: ISP-level
      { key: ALERT.B1, owner: { isp: ISP.B, reseller: RES.B1 } },
    ],
  },
  alert_events: {
    key: 'alert_id',
    rows: [
      { key: ALERT.A1, owner: { isp: ISP.A, reseller: RES.A1 } },
      { key: ALERT.A, owner: { isp: ISP.A, reseller: null } },
      { key: ALERT.B1, owner: { isp: ISP.B, reseller: RES.B1 } },
    ],
  },
  notifications: {
    key: 'alert_id',
    rows: [
      { key: ALERT.A1, owner: { isp: ISP.A, reseller: RES.A1 } },
      { key: ALERT.A, owner: { isp: ISP.A, reseller: null } },
      { key: ALERT.B1, owner: { isp: ISP.B, reseller: RES.B1 } },
    ],
  },
};

async function seed(db: Pool): Promise<void> {
  await db.query(`insert into public.isps (id, slug, name) values ($1, 'isp-a', 'ISP A'), ($2, 'isp-b', 'ISP B')`, [ISP.A, ISP.B]);
  await db.query(
    `insert into public.devices (id, isp_id, name, host, auth_ref) values ($1, $2, 'dev-a', '127.0.0.1', 'v2'), ($3, $4, 'dev-b', '127.0.0.1', 'v2')`,
    [DEV.A, ISP.A, DEV.B, ISP.B],
  );
  for (const r of ALL_RESELLERS) {
    const isp = resellerIsp(r);
    const dev = isp === ISP.A ? DEV.A : DEV.B;
    const ip = { [RES.A1]: IP.A1, [RES.A2]: IP.A2, [RES.B1]: IP.B1, [RES.B2]: IP.B2 }[r]!;
    await db.query(`insert into public.resellers (id, isp_id, slug, name, committed_mbps) values ($1, $2, $3, $3, 100)`, [r, isp, `r-${r.slice(-2)}`]);
    await db.query(`insert into public.reseller_vlans (isp_id, reseller_id, device_id, match_kind, match_value) values ($1, $2, $3, 'vlan_id', $4)`, [
      isp,
      r,
      dev,
      r.slice(-2),
    ]);
    await db.query(`insert into public.reseller_ips (id, isp_id, reseller_id, address) values ($1, $2, $3, $4)`, [ip, isp, r, `127.0.9.${r.slice(-2)}`]);
    await db.query(
      `insert into public.usage_5m (isp_id, reseller_id, bucket_start, avg_in_mbps, avg_out_mbps, max_in_mbps, max_out_mbps, committed_mbps, samples, gap_samples)
       values ($1, $2, '2026-11-01T00:00:00Z', 1, 1, 1, 1, 100, 30, 0)`,
      [isp, r],
    );
    await db.query(`insert into public.link_state (reseller_ip_id, isp_id, reseller_id, state) values ($1, $2, $3, 'UP')`, [ip, isp, r]);
    await db.query(`insert into public.link_events (reseller_ip_id, isp_id, reseller_id, from_state, to_state) values ($1, $2, $3, 'UNKNOWN', 'UP')`, [
      ip,
      isp,
      r,
    ]);
    await db.query(`insert into public.silences (isp_id, reseller_id, starts_at, ends_at) values ($1, $2, now(), now() + interval '1 hour')`, [isp, r]);
  }
  for (const [alert, isp, reseller, device] of [
    [ALERT.A1, ISP.A, RES.A1, null],
    [ALERT.A, ISP.A, null, DEV.A],
    [ALERT.B1, ISP.B, RES.B1, null],
  ] as const) {
    await db.query(
      `insert into public.alerts (id, isp_id, reseller_id, device_id, kind, severity, status, dedup_key) values ($1, $2, $3, $4, 'UTILIZATION', 'YELLOW', 'firing', $5)`,
      [alert, isp, reseller, device, `utilization:${alert}`],
    );
    const ev = await db.query<{ id: number }>(
      `insert into public.alert_events (alert_id, isp_id, reseller_id, to_status, to_severity) values ($1, $2, $3, 'firing', 'YELLOW') returning id`,
      [alert, isp, reseller],
    );
    await db.query(
      `insert into public.notifications (alert_id, alert_event_id, isp_id, reseller_id, channel, recipient, audience, template_key)
       values ($1, $2, $3, $4, 'console', '+15550000000', 'isp', 'utilization_yellow')`,
      [alert, ev.rows[0]!.id, isp, reseller],
    );
  }
  for (const u of Object.values(USERS)) {
    await db.query(`insert into auth.users (id, email) values ($1, $2)`, [u.uid, `${u.uid}@example.test`]);
    await db.query(`insert into public.memberships (user_id, role, isp_id, reseller_id) values ($1, $2, $3, $4)`, [u.uid, u.role, u.isp, u.reseller]);
  }
}

/** A row of `table` that belongs to the other tenant of `user` (used for cross-tenant inserts). */
function foreignRow(table: string, isp: string, reseller: string): Record<string, unknown> {
  const dev = isp === ISP.A ? DEV.A : DEV.B;
  const ip = reseller === RES.A1 ? IP.A1 : reseller === RES.A2 ? IP.A2 : reseller === RES.B1 ? IP.B1 : IP.B2;
  switch (table) {
    case 'isps':
      return { slug: 'intruder', name: 'x' };
    case 'devices':
      return { isp_id: isp, name: 'intruder', host: '127.0.0.1', auth_ref: 'x' };
    case 'resellers':
      return { isp_id: isp, slug: 'intruder', name: 'x', committed_mbps: 1 };
    case 'reseller_vlans':
      return { isp_id: isp, reseller_id: reseller, device_id: dev, match_kind: 'if_name', match_value: 'intruder' };
    case 'reseller_ips':
      return { isp_id: isp, reseller_id: reseller, address: '127.0.9.250' };
    case 'usage_5m':
      return {
        isp_id: isp,
        reseller_id: reseller,
        bucket_start: '2026-11-02T00:00:00Z',
        avg_in_mbps: 0,
        avg_out_mbps: 0,
        max_in_mbps: 0,
        max_out_mbps: 0,
        committed_mbps: 1,
        samples: 0,
        gap_samples: 0,
      };
    case 'link_state':
      return { reseller_ip_id: ip, isp_id: isp, reseller_id: reseller, state: 'DOWN' };
    case 'link_events':
      return { reseller_ip_id: ip, isp_id: isp, reseller_id: reseller, from_state: 'UP', to_state: 'DOWN' };
    case 'silences':
      return { isp_id: isp, reseller_id: reseller, starts_at: '2026-11-01T00:00:00Z', ends_at: '2026-11-01T01:00:00Z' };
    case 'alerts':
      return { isp_id: isp, reseller_id: reseller, kind: 'NO_DATA', severity: 'RED', status: 'firing', dedup_key: 'intruder' };
    case 'alert_events':
      return { alert_id: isp === ISP.A ? ALERT.A1 : ALERT.B1, isp_id: isp, reseller_id: reseller, to_status: 'resolved', to_severity: 'INFO' };
    case 'notifications':
      return { isp_id: isp, reseller_id: reseller, channel: 'console', recipient: '+1', audience: 'isp', template_key: 'x' };
    default:
      throw new Error(`no row template for ${table}`);
  }
}

/** A harmless update: set a column to itself. Only the row count matters. */
const NOOP_UPDATE: Record<string, string> = {
  isps: 'name = name',
  devices: 'host = host',
  resellers: 'name = name',
  reseller_vlans: 'match_value = match_value',
  reseller_ips: 'label = label',
  usage_5m: 'samples = samples',
  link_state: 'state = state',
  link_events: 'to_state = to_state',
  silences: 'reason = reason',
  alerts: 'summary = summary',
  alert_events: 'message = message',
  notifications: 'body = body',
};

async function tryInsert(c: PoolClient, table: string, row: Record<string, unknown>): Promise<string> {
  const cols = Object.keys(row);
  await c.query('savepoint s');
  try {
    await c.query(`insert into public.${table} (${cols.join(', ')}) values (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));
    await c.query('release savepoint s');
    return 'inserted';
  } catch (e) {
    await c.query('rollback to savepoint s');
    return (e as { code?: string }).code ?? 'error';
  }
}

let pg: PostgresServer;
let pool: Pool;

beforeAll(async () => {
  pg = await startPostgres();
  pool = createPool({ url: pg.url });
  await migrate(pool);
  await seed(pool);
});

afterAll(async () => {
  await pool?.end();
  await pg?.stop();
});

const ROLES = Object.keys(USERS) as RoleName[];
const TABLE_NAMES = Object.keys(TABLES);

describe('every tenant table has row-level security', () => {
  it('RLS is enabled on all public tables', async () => {
    const r = await pool.query<{ relname: string; relrowsecurity: boolean }>(
      `select c.relname, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind = 'r'`,
    );
    expect(r.rows.length).toBeGreaterThanOrEqual(13);
    expect(r.rows.filter((x) => !x.relrowsecurity).map((x) => x.relname)).toEqual([]);
  });

  it('policy helpers are security definer with an empty search_path', async () => {
    const r = await pool.query<{ proname: string; prosecdef: boolean; proconfig: string[] }>(
      `select proname, prosecdef, proconfig from pg_proc where proname like 'bandwatch_can_%' or proname = 'bandwatch_is_owner'`,
    );
    expect(r.rows).toHaveLength(3);
    for (const f of r.rows) {
      expect(f.prosecdef).toBe(true);
      expect(f.proconfig).toContain('search_path=""');
    }
  });
});

describe.each(TABLE_NAMES)('%s', (table) => {
  const spec = TABLES[table]!;

  it.each(ROLES)('%s sees exactly its own rows', async (role) => {
    const rows = await asUser(pool, { sub: USERS[role].uid }, (c) => c.query(`select ${spec.key}::text as k from public.${table}`));
    const seen = rows.rows.map((r: { k: string }) => r.k).sort();
    const expected = spec.rows.filter((r) => canSee(role, r.owner, table)).map((r) => r.key).sort();
    expect(seen).toEqual(expected);
  });

  it('anon sees nothing', async () => {
    const rows = await asAnon(pool, (c) => c.query(`select 1 from public.${table}`));
    expect(rows.rowCount).toBe(0);
  });

  it.each(ROLES.filter((r) => r !== 'owner'))('%s cannot insert into another tenant (42501)', async (role) => {
    const u = USERS[role];
    const otherIsp = u.isp === ISP.A ? ISP.B : ISP.A;
    const otherReseller = otherIsp === ISP.A ? RES.A2 : RES.B2;
    const code = await asUser(pool, { sub: u.uid }, (c) => tryInsert(c, table, foreignRow(table, otherIsp, otherReseller)));
    expect(code).toBe('42501');
  });

  it.each(ROLES.filter((r) => r !== 'owner'))("%s updates 0 rows of another tenant", async (role) => {
    const u = USERS[role];
    const otherIsp = u.isp === ISP.A ? ISP.B : ISP.A;
    const column = table === 'isps' ? 'id' : 'isp_id';
    const r = await asUser(pool, { sub: u.uid }, (c) => c.query(`update public.${table} set ${NOOP_UPDATE[table]} where ${column} = $1`, [otherIsp]));
    expect(r.rowCount).toBe(0);
  });
});

describe('writes inside a tenant follow the role', () => {
  it('an ISP admin can add a reseller to its own ISP; a viewer and a reseller cannot', async () => {
    const row = { isp_id: ISP.A, slug: 'new-reseller', name: 'New', committed_mbps: 50 };
    expect(await asUser(pool, { sub: USERS.ispA_admin.uid }, async (c) => {
      const r = await tryInsert(c, 'resellers', row);
      await c.query('rollback to savepoint s').catch(() => undefined);
      return r;
    })).toBe('inserted');
    expect(await asUser(pool, { sub: USERS.ispA_viewer.uid }, (c) => tryInsert(c, 'resellers', row))).toBe('42501');
    expect(await asUser(pool, { sub: USERS.resellerA1.uid }, (c) => tryInsert(c, 'resellers', row))).toBe('42501');
  });

  it('a reseller cannot raise its own committed rate', async () => {
    const r = await asUser(pool, { sub: USERS.resellerA1.uid }, (c) =>
      c.query('update public.resellers set committed_mbps = 10000 where id = $1', [RES.A1]),
    );
    expect(r.rowCount).toBe(0);
  });

  it('only services write measurements: an ISP admin cannot insert link_state even for its own ISP', async () => {
    const code = await asUser(pool, { sub: USERS.ispA_admin.uid }, (c) => tryInsert(c, 'link_state', foreignRow('link_state', ISP.A, RES.A1)));
    expect(code).toBe('42501');
  });

  it('an ISP admin cannot make anyone an owner or a member of another ISP', async () => {
    const target = USERS.ispA_viewer.uid;
    expect(await asUser(pool, { sub: USERS.ispA_admin.uid }, (c) => tryInsert(c, 'memberships', { user_id: target, role: 'owner' }))).toBe('42501');
    expect(
      await asUser(pool, { sub: USERS.ispA_admin.uid }, (c) => tryInsert(c, 'memberships', { user_id: target, role: 'isp_admin', isp_id: ISP.B })),
    ).toBe('42501');
  });

  it('users see their own memberships; ISP admins see their ISP members only', async () => {
    const mine = await asUser(pool, { sub: USERS.resellerB1.uid }, (c) => c.query('select user_id from public.memberships'));
    expect(mine.rows.map((r: { user_id: string }) => r.user_id)).toEqual([USERS.resellerB1.uid]);
    const admin = await asUser(pool, { sub: USERS.ispB_admin.uid }, (c) => c.query('select user_id from public.memberships order by user_id'));
    expect(admin.rows.map((r: { user_id: string }) => r.user_id).sort()).toEqual([USERS.ispB_admin.uid, USERS.resellerB1.uid].sort());
  });

  it('an unknown signed-in user (no membership) sees nothing', async () => {
    const r = await asUser(pool, { sub: id(999) }, (c) => c.query('select id from public.resellers'));
    expect(r.rowCount).toBe(0);
  });
});

describe('migrations', () => {
  it('apply a second time without error and without re-running', async () => {
    const again = await migrate(pool);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied.length).toBeGreaterThanOrEqual(2);
  });
});
