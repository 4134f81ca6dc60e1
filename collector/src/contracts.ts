/*
 * Contracts between the collector's parts (snmp/, rates/, influx/, ping/,
 * rollup/, metrics/) and with the alerter, which reads what is written here.
 * Change them only together with every user.
 */

/** One interface's counters as read in one poll PDU set of one device. */
export interface InterfaceSample {
  deviceId: string;
  deviceName: string;
  ifIndex: number;
  ifName: string;
  /** ifHighSpeed in Mbps (0 when unknown). */
  ifHighSpeedMbps: number;
  /** ifOperStatus: 1 up, 2 down, … */
  operStatus: number;
  inOctets: bigint;
  outOctets: bigint;
  /** true for ifHCIn/OutOctets (64-bit), false for the 32-bit ifIn/OutOctets fallback. */
  counters64: boolean;
  /** ifCounterDiscontinuityTime in TimeTicks (0 when the agent has none). */
  discontinuityTicks: number;
  /** sysUpTime.0 in TimeTicks, read in the same PDU as the counters. */
  sysUpTimeTicks: number;
  /** performance.now() when the response arrived: rates use this monotonic clock. */
  monotonicMs: number;
  /** Date.now() when the response arrived: the timestamp written to storage. */
  wallMs: number;
}

export type GapReason =
  | 'first_sample'
  | 'counter_reset'
  | 'discontinuity'
  | 'overspeed'
  | 'rebind'
  | 'poll_failed'
  | 'negative_delta'
  /** 32-bit counters only: the link could have wrapped the counter more than once (or speed unknown). */
  | 'wrap_ambiguous';

/** What the rate engine makes of one interface for one poll. */
export type RateResult =
  | { kind: 'rate'; inBps: number; outBps: number; inDeltaOctets: bigint; outDeltaOctets: bigint; elapsedSeconds: number }
  | { kind: 'gap'; reason: GapReason };

/**
 * InfluxDB series (measurement → tags → fields). Tags stay low-cardinality:
 * no IPs, no ifIndex (it renumbers), no free text.
 *   vlan_rate     tags isp, reseller, device, ifname, vlan   fields in_bps, out_bps (float), in_octets, out_octets (int), oper_status (int)
 *   reseller_rate tags isp, reseller                         fields in_bps, out_bps, committed_bps (float), utilization_in_pct, utilization_out_pct (float), vlans (int)
 *   uplink_rate   tags isp, device                           fields in_bps, out_bps (float), vlans (int)
 *   rate_gap      tags isp, reseller, device, ifname, reason fields count (int)  — a gap is recorded, never written as zero traffic
 *   ping          tags isp, reseller, target                 fields rtt_avg_ms, rtt_max_ms, loss_pct, jitter_ms (float), sent, received, state_code (int)
 */
export const MEASUREMENTS = {
  vlanRate: 'vlan_rate',
  resellerRate: 'reseller_rate',
  uplinkRate: 'uplink_rate',
  rateGap: 'rate_gap',
  ping: 'ping',
} as const;

export const LINK_STATE_CODES = { UNKNOWN: 0, UP: 1, DEGRADED: 2, DOWN: 3, IDLE: 4 } as const;

export interface SeriesPoint {
  measurement: string;
  tags: Record<string, string>;
  /** number → float field; bigint → integer field; boolean → bool field. */
  fields: Record<string, number | bigint | boolean>;
  timestampMs: number;
}

/** Where series go. The real one is influx/ (batching, gzip, retries, on-disk spool). */
export interface SeriesWriter {
  write(points: SeriesPoint[]): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Latest per-reseller rate, shared by the rate engine with the ping monitor's IDLE rule. */
export interface ResellerRateSnapshot {
  resellerId: string;
  inBps: number;
  outBps: number;
  wallMs: number;
}
