import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { startPostgres, type PostgresServer } from '../testing/harness';
import { applyInventory, formatChanges } from './inventoryApply';
import { migrate } from './migrate';
import { createPool, type Pool } from './pool';
import { createInventoryReader, inventoryFingerprint, readInventory } from './inventory';

const EXAMPLE = readFileSync(new URL('../../../config.yaml', import.meta.url), 'utf8');
const configWith = (edit?: (doc: ReturnType<typeof parseDocument>) => void) => {
  const doc = parseDocument(EXAMPLE);
  edit?.(doc);
  return parseConfig(doc.toString(), 't.yaml', {});
};

/** Every inventory row as text, to prove a dry run or a no-op run wrote nothing. */
async function snapshot(pool: Pool): Promise<string> {
  const parts: string[] = [];
  for (const t of ['isps', 'devices', 'resellers', 'reseller_vlans', 'reseller_ips']) {
    const r = await pool.query(`select * from public.${t} order by id`);
    parts.push(JSON.stringify(r.rows));
  }
  return parts.join('\n');
}

let pg: PostgresServer;
let pool: Pool;

beforeAll(async () => {
  pg = await startPostgres();
  pool = createPool({ url: pg.url });
  await migrate(pool);
});

afterAll(async () => {
  await pool?.end();
  await pg?.stop();
});

describe('inventory apply', () => {
  it('dry run on an empty database lists every addition and writes nothing', async () => {
    const before = await snapshot(pool);
    const r = await applyInventory(pool, configWith().inventory, { dryRun: true });
    expect(r.applied).toBe(false);
    const counts = Object.fromEntries(['isp', 'device', 'reseller', 'vlan', 'ip'].map((e) => [e, r.changes.filter((c) => c.entity === e && c.kind === 'added').length]));
    expect(counts).toEqual({ isp: 2, device: 2, reseller: 5, vlan: 6, ip: 6 });
    expect(await snapshot(pool)).toBe(before);
  });

  it('applies, and a second run finds no changes and writes nothing', async () => {
    const first = await applyInventory(pool, configWith().inventory);
    expect(first.applied).toBe(true);
    expect(first.changes).toHaveLength(21);
    const inv = await readInventory(pool);
    expect(inv.resellers.map((r) => [r.slug, r.committedMbps])).toContainEqual(['acme-net', 200]);
    expect(inv.vlans.find((v) => v.matchKind === 'if_name_regex')?.matchValue).toBe('^Gi0/0/1\\.100$');

    const before = await snapshot(pool);
    const second = await applyInventory(pool, configWith().inventory);
    expect(second.changes).toEqual([]);
    expect(formatChanges(second.changes)).toEqual(['no changes']);
    expect(await snapshot(pool)).toBe(before);
  });

  it('reports and applies a change, an addition and a removal; dry run first writes nothing', async () => {
    const edited = configWith((doc) => {
      doc.setIn(['inventory', 'isps', 0, 'resellers', 0, 'committed_mbps'], 250);
      doc.deleteIn(['inventory', 'isps', 0, 'resellers', 0, 'ips', 1]);
      doc.setIn(['inventory', 'isps', 0, 'resellers', 1, 'ips', 1], '127.0.1.21');
    });
    const before = await snapshot(pool);
    const dry = await applyInventory(pool, edited.inventory, { dryRun: true });
    expect(await snapshot(pool)).toBe(before);
    expect(formatChanges(dry.changes).sort()).toEqual([
      '+ ip 127.0.1.21',
      '- ip 127.0.1.11',
      '~ reseller acme-net committed_mbps: 200 → 250',
    ]);
    const real = await applyInventory(pool, edited.inventory);
    expect(real.changes).toEqual(dry.changes);
    const inv = await readInventory(pool);
    expect(inv.resellers.find((r) => r.slug === 'acme-net')?.committedMbps).toBe(250);
    expect(inv.ips.map((i) => i.address)).toContain('127.0.1.21');
    expect(inv.ips.map((i) => i.address)).not.toContain('127.0.1.11');
  });

  it('leaves ISPs that the file does not name alone', async () => {
    await pool.query(`insert into public.isps (slug, name) values ('managed-elsewhere', 'Elsewhere')`);
    const r = await applyInventory(pool, configWith().inventory, { dryRun: true });
    expect(r.changes.some((c) => c.key === 'managed-elsewhere')).toBe(false);
    const single = configWith((doc) => doc.deleteIn(['inventory', 'isps', 1]));
    const r2 = await applyInventory(pool, single.inventory, { dryRun: true });
    expect(r2.changes.filter((c) => c.kind === 'removed' && c.entity !== 'ip')).toEqual([]);
  });

  it('removing a reseller removes its VLAN rules and IPs', async () => {
    const without = configWith((doc) => doc.deleteIn(['inventory', 'isps', 1, 'resellers', 1]));
    const r = await applyInventory(pool, without.inventory);
    // The previous test's edits are undone too: 127.0.1.21 goes, 127.0.1.11 and acme's rate come back.
    expect(formatChanges(r.changes).sort()).toEqual([
      '+ ip 127.0.1.11',
      '- ip 127.0.1.21',
      '- ip 127.0.2.20',
      '- reseller echo-broadband',
      '- vlan echo-broadband@sg-core-1:vlan_id=200',
      '~ reseller acme-net committed_mbps: 250 → 200',
    ]);
    const inv = await readInventory(pool);
    expect(inv.resellers.map((x) => x.slug)).not.toContain('echo-broadband');
  });
});

describe('supabase/seed.sql', () => {
  it('attaches one demo user per role to the applied inventory, idempotently', async () => {
    await applyInventory(pool, configWith().inventory);
    const seed = readFileSync(new URL('../../../supabase/seed.sql', import.meta.url), 'utf8');
    await pool.query(seed);
    await pool.query(seed);
    const r = await pool.query<{ role: string; n: number }>('select role, count(*)::int as n from public.memberships group by role order by role');
    expect(r.rows).toEqual([
      { role: 'isp_admin', n: 2 },
      { role: 'isp_viewer', n: 1 },
      { role: 'owner', n: 1 },
      { role: 'reseller', n: 2 },
    ]);
  });
});

describe('inventory reader', () => {
  it('returns the same object until any inventory table changes, and re-reads after the full-read period', async () => {
    await applyInventory(pool, configWith().inventory);
    let clock = 0;
    const reader = createInventoryReader(pool, { fullReadEveryMs: 1000, now: () => clock });
    const first = await reader.read();
    expect(await reader.read()).toBe(first);

    // Each table, each kind of change: the fingerprint moves and the reader reads again.
    const fp0 = await inventoryFingerprint(pool);
    const edits = [
      "update public.isps set name = name || ' x' where slug = (select min(slug) from public.isps)",
      "update public.devices set port = coalesce(port, 161) + 1 where name = (select min(name) from public.devices)",
      'update public.resellers set committed_mbps = committed_mbps + 1 where slug = (select min(slug) from public.resellers)',
      "update public.reseller_vlans set bound_if_index = 4242 where id = (select id from public.reseller_vlans order by id limit 1)",
      "insert into public.reseller_ips (isp_id, reseller_id, address) select isp_id, id, '192.0.2.77' from public.resellers order by slug limit 1",
      "delete from public.reseller_ips where address = '192.0.2.77'",
    ];
    const seen = new Set([fp0]);
    let previous = first;
    for (const sql of edits) {
      await pool.query(sql);
      const fp = await inventoryFingerprint(pool);
      expect(seen.has(fp), sql).toBe(sql.startsWith('delete'));
      seen.add(fp);
      const next = await reader.read();
      expect(next, sql).not.toBe(previous);
      previous = next;
    }
    // The delete undid the insert: same fingerprint as before it, but the reader still re-read (it changed since the last read).
    expect(previous.ips.some((ip) => ip.address === '192.0.2.77')).toBe(false);

    expect(await reader.read()).toBe(previous);
    clock = 1000;
    const forced = await reader.read();
    expect(forced).not.toBe(previous);
    expect(forced).toEqual(previous);
  });
});
