/** Domain types shared by every service. Rates are in bits per second unless the name says Mbps. */

export type Role = 'owner' | 'isp_admin' | 'isp_viewer' | 'reseller';
export type MatchKind = 'if_name' | 'if_name_regex' | 'if_alias' | 'if_alias_regex' | 'vlan_id';
export type LinkStateName = 'UNKNOWN' | 'UP' | 'DEGRADED' | 'DOWN' | 'IDLE';
export type AlertKind = 'UTILIZATION' | 'UPLINK' | 'LINK_DOWN' | 'LINK_FLAPPING' | 'NO_DATA';
export type Severity = 'INFO' | 'YELLOW' | 'RED' | 'CRITICAL';
export type AlertStatus = 'pending' | 'firing' | 'resolved';

export interface Contact {
  name: string;
  whatsapp: string;
}

export interface Thresholds {
  yellow_percent?: number;
  red_percent?: number;
  uplink_threshold_mbps?: number;
}

export interface Isp {
  id: string;
  slug: string;
  name: string;
  opsContacts: Contact[];
  thresholds: Thresholds;
}

export interface Device {
  id: string;
  ispId: string;
  name: string;
  host: string;
  port: number;
  authRef: string;
  uplinkCapacityMbps: number | null;
  enabled: boolean;
}

export interface Reseller {
  id: string;
  ispId: string;
  slug: string;
  name: string;
  committedMbps: number;
  contacts: Contact[];
  thresholds: Thresholds;
}

export interface ResellerVlan {
  id: string;
  ispId: string;
  resellerId: string;
  deviceId: string;
  matchKind: MatchKind;
  matchValue: string;
  boundIfIndex: number | null;
  boundIfName: string | null;
}

export interface ResellerIp {
  id: string;
  ispId: string;
  resellerId: string;
  address: string;
  label: string | null;
}

export interface Inventory {
  isps: Isp[];
  devices: Device[];
  resellers: Reseller[];
  vlans: ResellerVlan[];
  ips: ResellerIp[];
}
