import { isDeepStrictEqual } from 'node:util';
import type { InventoryConfig, VlanRuleConfig } from '../config/schema';
import type { MatchKind } from '../domain';
import type { Pool, PoolClient } from './pool';

/*
 * Inventory as code. The config's inventory is the desired state of every ISP
 * it names; apply computes a diff against the database and upserts it in one
 * transaction. ISPs the file does not name are left alone, so tenants managed
 * elsewhere (API, another file) are never touched by an unrelated apply.
 */

export type ChangeKind = 'added' | 'changed' | 'removed';
export type EntityKind = 'isp' | 'device' | 'reseller' | 'vlan' | 'ip';

export interface InventoryChange {
  kind: ChangeKind;
  entity: EntityKind;
  /** Natural key, e.g. `northwind/acme-net` or `acme-net@nw-edge-1:if_name=ether1.10`. */
  key: string;
  /** For `changed`: field → [before, after]. */
  fields?: Record<string, [unknown, unknown]>;
}

interface DesiredIsp {
  slug: string;
  name: string;
  ops_contacts: unknown[];
  thresholds: Record<string, unknown>;
}
interface DesiredDevice {
  isp: string;
  name: string;
  host: string;
  port: number;
  auth_ref: string;
  uplink_capacity_mbps: number | null;
}
interface DesiredReseller {
  isp: string;
  slug: string;
  name: string;
  committed_mbps: number;
  contacts: unknown[];
  thresholds: Record<string, unknown>;
}
interface DesiredVlan {
  isp: string;
  reseller: string;
  device: string;
  match_kind: MatchKind;
  match_value: string;
}
interface DesiredIp {
  isp: string;
  reseller: string;
  address: string;
  label: string | null;
}

export interface InventoryState {
  isps: DesiredIsp[];
  devices: DesiredDevice[];
  resellers: DesiredReseller[];
  vlans: DesiredVlan[];
  ips: DesiredIp[];
}

export function vlanMatch(v: VlanRuleConfig): { match_kind: MatchKind; match_value: string } {
  if (v.if_name !== undefined) return { match_kind: 'if_name', match_value: v.if_name };
  if (v.if_name_regex !== undefined) return { match_kind: 'if_name_regex', match_value: v.if_name_regex };
  if (v.if_alias !== undefined) return { match_kind: 'if_alias', match_value: v.if_alias };
  if (v.if_alias_regex !== undefined) return { match_kind: 'if_alias_regex', match_value: v.if_alias_regex };
  return { match_kind: 'vlan_id', match_value: String(v.vlan_id) };
}

const vlanKey = (v: DesiredVlan) => `${v.reseller}@${v.device}:${v.match_kind}=${v.match_value}`;

/** The desired state a config's inventory describes (pure). */
export function desiredState(inventory: InventoryConfig, defaultSnmpPort = 161): InventoryState {
  const state: InventoryState = { isps: [], devices: [], resellers: [], vlans: [], ips: [] };
  for (const isp of inventory.isps) {
    state.isps.push({ slug: isp.slug, name: isp.name, ops_contacts: isp.ops_contacts, thresholds: isp.thresholds ?? {} });
    for (const d of isp.devices) {
      state.devices.push({
        isp: isp.slug,
        name: d.name,
        host: d.host,
        port: d.port ?? defaultSnmpPort,
        auth_ref: d.auth,
        uplink_capacity_mbps: d.uplink_capacity_mbps ?? null,
      });
    }
    for (const r of isp.resellers) {
      state.resellers.push({
        isp: isp.slug,
        slug: r.slug,
        name: r.name,
        committed_mbps: r.committed_mbps,
        contacts: r.contacts,
        thresholds: r.thresholds ?? {},
      });
      for (const v of r.vlans) state.vlans.push({ isp: isp.slug, reseller: r.slug, device: v.device, ...vlanMatch(v) });
      for (const ip of r.ips) {
        const entry = typeof ip === 'string' ? { address: ip, label: null } : { address: ip.address, label: ip.label ?? null };
        state.ips.push({ isp: isp.slug, reseller: r.slug, ...entry });
      }
    }
  }
  return state;
}

function diffList<T>(entity: EntityKind, current: T[], desired: T[], key: (x: T) => string, fields: Array<keyof T>): InventoryChange[] {
  const changes: InventoryChange[] = [];
  const cur = new Map(current.map((x) => [key(x), x]));
  const want = new Map(desired.map((x) => [key(x), x]));
  for (const [k, d] of want) {
    const c = cur.get(k);
    if (!c) {
      changes.push({ kind: 'added', entity, key: k });
      continue;
    }
    const changed: Record<string, [unknown, unknown]> = {};
    for (const f of fields) {
      if (!isDeepStrictEqual(c[f], d[f])) changed[String(f)] = [c[f], d[f]];
    }
    if (Object.keys(changed).length > 0) changes.push({ kind: 'changed', entity, key: k, fields: changed });
  }
  for (const k of cur.keys()) if (!want.has(k)) changes.push({ kind: 'removed', entity, key: k });
  return changes;
}

/** Changes that turn `current` into `desired` (pure). Only ISPs in `desired` are compared. */
export function diffInventory(current: InventoryState, desired: InventoryState): InventoryChange[] {
  const scope = new Set(desired.isps.map((i) => i.slug));
  const inScope = <T extends { isp: string }>(xs: T[]) => xs.filter((x) => scope.has(x.isp));
  return [
    ...diffList('isp', current.isps.filter((i) => scope.has(i.slug)), desired.isps, (i) => i.slug, ['name', 'ops_contacts', 'thresholds']),
    ...diffList('device', inScope(current.devices), desired.devices, (d) => d.name, ['isp', 'host', 'port', 'auth_ref', 'uplink_capacity_mbps']),
    ...diffList('reseller', inScope(current.resellers), desired.resellers, (r) => r.slug, ['isp', 'name', 'committed_mbps', 'contacts', 'thresholds']),
    ...diffList('vlan', inScope(current.vlans), desired.vlans, vlanKey, []),
    ...diffList('ip', inScope(current.ips), desired.ips, (i) => i.address, ['isp', 'reseller', 'label']),
  ];
}

/** The inventory as stored, in the same shape as desiredState. */
export async function currentState(db: Pick<PoolClient, 'query'>): Promise<InventoryState> {
  const isps = await db.query('select slug, name, ops_contacts, thresholds from public.isps');
  const devices = await db.query(
    'select i.slug as isp, d.name, d.host, d.port, d.auth_ref, d.uplink_capacity_mbps from public.devices d join public.isps i on i.id = d.isp_id',
  );
  const resellers = await db.query(
    'select i.slug as isp, r.slug, r.name, r.committed_mbps, r.contacts, r.thresholds from public.resellers r join public.isps i on i.id = r.isp_id',
  );
  const vlans = await db.query(
    `select i.slug as isp, r.slug as reseller, d.name as device, v.match_kind, v.match_value
       from public.reseller_vlans v join public.resellers r on r.id = v.reseller_id
       join public.devices d on d.id = v.device_id join public.isps i on i.id = v.isp_id`,
  );
  const ips = await db.query(
    `select i.slug as isp, r.slug as reseller, x.address, x.label
       from public.reseller_ips x join public.resellers r on r.id = x.reseller_id join public.isps i on i.id = x.isp_id`,
  );
  return {
    isps: isps.rows as DesiredIsp[],
    devices: devices.rows as DesiredDevice[],
    resellers: resellers.rows as DesiredReseller[],
    vlans: vlans.rows as DesiredVlan[],
    ips: ips.rows as DesiredIp[],
  };
}

export interface ApplyResult {
  changes: InventoryChange[];
  applied: boolean;
}

/**
 * Upserts the inventory. With `dryRun` the diff is computed inside a
 * transaction that is rolled back, so nothing is written either way.
 */
export async function applyInventory(pool: Pool, inventory: InventoryConfig, options: { dryRun?: boolean; defaultSnmpPort?: number } = {}): Promise<ApplyResult> {
  const desired = desiredState(inventory, options.defaultSnmpPort);
  const client = await pool.connect();
  try {
    await client.query('begin');
    const changes = diffInventory(await currentState(client), desired);
    if (options.dryRun || changes.length === 0) {
      await client.query('rollback');
      return { changes, applied: false };
    }
    await writeState(client, desired, changes);
    await client.query('commit');
    return { changes, applied: true };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function writeState(db: PoolClient, desired: InventoryState, changes: InventoryChange[]): Promise<void> {
  const ispId = new Map<string, string>();
  for (const i of desired.isps) {
    const r = await db.query<{ id: string }>(
      `insert into public.isps (slug, name, ops_contacts, thresholds) values ($1, $2, $3, $4)
       on conflict (slug) do update set name = excluded.name, ops_contacts = excluded.ops_contacts,
         thresholds = excluded.thresholds, updated_at = now()
       returning id`,
      [i.slug, i.name, JSON.stringify(i.ops_contacts), JSON.stringify(i.thresholds)],
    );
    ispId.set(i.slug, r.rows[0]!.id);
  }
  // Removals first, children before parents, so a reseller or device moved
  // between ISPs in one apply cannot trip the composite foreign keys.
  const removed = (entity: EntityKind) => changes.filter((c) => c.kind === 'removed' && c.entity === entity).map((c) => c.key);
  await db.query('delete from public.reseller_ips where address = any($1)', [removed('ip')]);
  for (const key of removed('vlan')) {
    const [reseller = '', rest = ''] = key.split('@');
    const [device = '', rule = ''] = [rest.slice(0, rest.indexOf(':')), rest.slice(rest.indexOf(':') + 1)];
    const [kind = '', value = ''] = [rule.slice(0, rule.indexOf('=')), rule.slice(rule.indexOf('=') + 1)];
    await db.query(
      `delete from public.reseller_vlans v using public.resellers r, public.devices d
        where v.reseller_id = r.id and v.device_id = d.id and r.slug = $1 and d.name = $2 and v.match_kind = $3 and v.match_value = $4`,
      [reseller, device, kind, value],
    );
  }
  await db.query('delete from public.resellers where slug = any($1)', [removed('reseller')]);
  await db.query('delete from public.devices where name = any($1)', [removed('device')]);

  const deviceId = new Map<string, string>();
  for (const d of desired.devices) {
    const r = await db.query<{ id: string }>(
      `insert into public.devices (isp_id, name, host, port, auth_ref, uplink_capacity_mbps) values ($1, $2, $3, $4, $5, $6)
       on conflict (name) do update set isp_id = excluded.isp_id, host = excluded.host, port = excluded.port,
         auth_ref = excluded.auth_ref, uplink_capacity_mbps = excluded.uplink_capacity_mbps, updated_at = now()
       returning id`,
      [ispId.get(d.isp), d.name, d.host, d.port, d.auth_ref, d.uplink_capacity_mbps],
    );
    deviceId.set(d.name, r.rows[0]!.id);
  }
  const resellerId = new Map<string, string>();
  for (const s of desired.resellers) {
    const r = await db.query<{ id: string }>(
      `insert into public.resellers (isp_id, slug, name, committed_mbps, contacts, thresholds) values ($1, $2, $3, $4, $5, $6)
       on conflict (slug) do update set isp_id = excluded.isp_id, name = excluded.name, committed_mbps = excluded.committed_mbps,
         contacts = excluded.contacts, thresholds = excluded.thresholds, updated_at = now()
       returning id`,
      [ispId.get(s.isp), s.slug, s.name, s.committed_mbps, JSON.stringify(s.contacts), JSON.stringify(s.thresholds)],
    );
    resellerId.set(s.slug, r.rows[0]!.id);
  }
  for (const v of desired.vlans) {
    await db.query(
      `insert into public.reseller_vlans (isp_id, reseller_id, device_id, match_kind, match_value) values ($1, $2, $3, $4, $5)
       on conflict (reseller_id, device_id, match_kind, match_value) do nothing`,
      [ispId.get(v.isp), resellerId.get(v.reseller), deviceId.get(v.device), v.match_kind, v.match_value],
    );
  }
  for (const ip of desired.ips) {
    await db.query(
      `insert into public.reseller_ips (isp_id, reseller_id, address, label) values ($1, $2, $3, $4)
       on conflict (address) do update set isp_id = excluded.isp_id, reseller_id = excluded.reseller_id, label = excluded.label`,
      [ispId.get(ip.isp), resellerId.get(ip.reseller), ip.address, ip.label],
    );
  }
}

/** Human-readable diff lines: `+ reseller northwind/acme-net`, `~ device nw-edge-1 host: a → b`. */
export function formatChanges(changes: InventoryChange[]): string[] {
  if (changes.length === 0) return ['no changes'];
  const sign: Record<ChangeKind, string> = { added: '+', changed: '~', removed: '-' };
  return changes.map((c) => {
    const detail = c.fields
      ? ' ' + Object.entries(c.fields).map(([f, [a, b]]) => `${f}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`).join(', ')
      : '';
    return `${sign[c.kind]} ${c.entity} ${c.key}${detail}`;
  });
}
