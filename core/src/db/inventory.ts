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
