import type { Contact, Device, Inventory, Isp, MatchKind, Reseller, ResellerIp, ResellerVlan, Thresholds } from '../domain';
import type { Queryable } from './pool';

/** Reads the whole inventory (as the service role: no RLS filtering). */
export async function readInventory(db: Queryable): Promise<Inventory> {
  const [isps, devices, resellers, vlans, ips] = await Promise.all([
    db.query('select id, slug, name, ops_contacts, thresholds from public.isps order by slug'),
    db.query('select id, isp_id, name, host, port, auth_ref, uplink_capacity_mbps, enabled from public.devices order by name'),
    db.query('select id, isp_id, slug, name, committed_mbps, contacts, thresholds from public.resellers order by slug'),
    db.query(
      'select id, isp_id, reseller_id, device_id, match_kind, match_value, bound_if_index, bound_if_name from public.reseller_vlans order by reseller_id, match_kind, match_value',
    ),
    db.query('select id, isp_id, reseller_id, address, label from public.reseller_ips order by address'),
  ]);
  return {
    isps: isps.rows.map(
      (r): Isp => ({ id: r.id, slug: r.slug, name: r.name, opsContacts: r.ops_contacts as Contact[], thresholds: r.thresholds as Thresholds }),
    ),
    devices: devices.rows.map(
      (r): Device => ({
        id: r.id,
        ispId: r.isp_id,
        name: r.name,
        host: r.host,
        port: r.port,
        authRef: r.auth_ref,
        uplinkCapacityMbps: r.uplink_capacity_mbps,
        enabled: r.enabled,
      }),
    ),
    resellers: resellers.rows.map(
      (r): Reseller => ({
        id: r.id,
        ispId: r.isp_id,
        slug: r.slug,
        name: r.name,
        committedMbps: r.committed_mbps,
        contacts: r.contacts as Contact[],
        thresholds: r.thresholds as Thresholds,
      }),
    ),
    vlans: vlans.rows.map(
      (r): ResellerVlan => ({
        id: r.id,
        ispId: r.isp_id,
        resellerId: r.reseller_id,
        deviceId: r.device_id,
        matchKind: r.match_kind as MatchKind,
        matchValue: r.match_value,
        boundIfIndex: r.bound_if_index,
        boundIfName: r.bound_if_name,
      }),
    ),
    ips: ips.rows.map(
      (r): ResellerIp => ({ id: r.id, ispId: r.isp_id, resellerId: r.reseller_id, address: r.address, label: r.label }),
    ),
  };
}

const INVENTORY_TABLES = ['isps', 'devices', 'resellers', 'reseller_vlans', 'reseller_ips'] as const;

/**
 * A fingerprint of every table readInventory reads, computed in Postgres:
 * per table the row count and an order-independent sum of row hashes. One
 * small query instead of every row, so a reader can check often and re-read
 * only after a change.
 */
export async function inventoryFingerprint(db: Queryable): Promise<string> {
  const parts = INVENTORY_TABLES.map((t) => `(select count(*) || ':' || coalesce(sum(hashtext(x::text)), 0) from public.${t} x)`);
  const r = await db.query<{ fp: string }>(`select concat_ws('/', ${parts.join(', ')}) as fp`);
  return r.rows[0]?.fp ?? '';
}

export interface InventoryReader {
  /** The current inventory: the same object as last time while nothing changed. */
  read(): Promise<Inventory>;
}

/**
 * readInventory behind a fingerprint check: while the fingerprint is
 * unchanged the previous Inventory object comes back (callers can compare
 * by identity and skip rebuilding what they derive from it). Every
 * `fullReadEveryMs` it reads everything regardless, so even a hash
 * collision is bounded in time.
 */
export function createInventoryReader(db: Queryable, options: { fullReadEveryMs?: number; now?: () => number } = {}): InventoryReader {
  const fullReadEveryMs = options.fullReadEveryMs ?? 10 * 60_000;
  const now = options.now ?? (() => performance.now());
  let last: { inventory: Inventory; fingerprint: string; readAt: number } | undefined;
  return {
    async read() {
      const fingerprint = await inventoryFingerprint(db);
      if (last && last.fingerprint === fingerprint && now() - last.readAt < fullReadEveryMs) return last.inventory;
      // Fingerprint first: a change landing between the two queries makes the next check differ, never hides it.
      const inventory = await readInventory(db);
      last = { inventory, fingerprint, readAt: now() };
      return inventory;
    },
  };
}
