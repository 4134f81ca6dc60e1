import { extractVlanId } from '../snmp/binding';
import { MEASUREMENTS, type InterfaceSample, type RateResult, type ResellerRateSnapshot, type SeriesPoint } from '../contracts';
import { RateEngine, type RateOptions } from './rateEngine';
import { ResellerAggregator, deviceTotal, type DeviceTotal, type ResellerAggregate } from './resellerAggregator';

/*
 * From one device poll's samples to everything the collector emits: VLAN
 * results, reseller aggregates, the device (uplink) total and the InfluxDB
 * points for all of them. No I/O: main.ts hands `points` to the writer and
 * the rest to metrics and the rollup.
 *
 * Reseller aggregation counts every VLAN RULE of the reseller, bound or not:
 * a rule that binds to nothing (or to several interfaces) would otherwise
 * silently shrink the reseller's sum, which bills and alerts too low. Such a
 * reseller gets gaps with reason `unbound` (and the binding-problem metric
 * says why) until the rule is fixed. The uplink total is the sum of the
 * VLANs that ARE bound on the device (field `vlans` says how many).
 */

export interface PipelineReseller {
  id: string;
  slug: string;
  ispSlug: string;
  committedMbps: number;
}

export interface PipelineRule {
  /** reseller_vlans.id */
  id: string;
  resellerId: string;
  deviceId: string;
}

export interface PipelineDevice {
  id: string;
  name: string;
  ispSlug: string;
}

/** A rule's current binding as the SNMP binding step reported it. */
export interface PipelineBinding {
  ruleId: string;
  deviceId: string;
  ok: boolean;
  ifIndex: number | null;
  ifName: string | null;
}

export interface VlanOutcome {
  ruleId: string;
  reseller: PipelineReseller;
  device: PipelineDevice;
  ifName: string;
  vlan: string;
  ifHighSpeedMbps: number;
  /** Undefined for a VLAN whose poll failed (no sample). */
  sample: InterfaceSample | undefined;
  wallMs: number;
  result: RateResult;
}

export interface ResellerOutcome {
  reseller: PipelineReseller;
  aggregate: ResellerAggregate;
}

export interface PipelineOutput {
  vlans: VlanOutcome[];
  resellers: ResellerOutcome[];
  uplink: { device: PipelineDevice; total: DeviceTotal; wallMs: number } | undefined;
  points: SeriesPoint[];
}

/** VLAN id from names like ether1.10, vlan10, Gi0/0/1.10, Vlan-interface10; '' when there is none. */
export function vlanTag(ifName: string): string {
  // The same parser that binds vlan_id rules, so the tag always names the VLAN the rule meant.
  const id = extractVlanId(ifName);
  return id === null ? '' : String(id);
}

export class RatePipeline {
  private readonly engine: RateEngine;
  private readonly aggregator: ResellerAggregator;
  private resellers = new Map<string, PipelineReseller>();
  private devices = new Map<string, PipelineDevice>();
  private rules = new Map<string, PipelineRule>();
  private bindings = new Map<string, PipelineBinding>();
  /** `${deviceId}/${ifIndex}` → rule ids bound to that interface. */
  private byInterface = new Map<string, string[]>();
  private readonly latest = new Map<string, ResellerRateSnapshot>();
  /** Rule id → wall time of its last sample, to tell which VLANs a failed cycle missed. */
  private readonly lastSampleWallMs = new Map<string, number>();
  private readonly lastSpeedMbps = new Map<string, number>();

  constructor(options: RateOptions & { aggregationWindowMs: number }) {
    this.engine = new RateEngine(options);
    this.aggregator = new ResellerAggregator(options.aggregationWindowMs);
  }

  /** Inventory (re)load. Bindings of rules that still exist are kept. */
  setInventory(inv: { resellers: PipelineReseller[]; devices: PipelineDevice[]; rules: PipelineRule[] }): void {
    this.resellers = new Map(inv.resellers.map((r) => [r.id, r]));
    this.devices = new Map(inv.devices.map((d) => [d.id, d]));
    this.rules = new Map(inv.rules.map((r) => [r.id, r]));
    for (const id of this.bindings.keys()) if (!this.rules.has(id)) this.bindings.delete(id);
    this.engine.retain(new Set(this.rules.keys()));
    this.reindex();
  }

  /** The binding step's results for one device (replaces that device's bindings). */
  setBindings(deviceId: string, results: readonly PipelineBinding[]): void {
    for (const [id, b] of this.bindings) if (b.deviceId === deviceId) this.bindings.delete(id);
    for (const r of results) if (this.rules.has(r.ruleId)) this.bindings.set(r.ruleId, r);
    this.reindex();
  }

  /** Latest complete reseller rate (for the ping monitor's IDLE rule). */
  resellerRate(resellerId: string): ResellerRateSnapshot | undefined {
    return this.latest.get(resellerId);
  }

  onSamples(deviceId: string, samples: readonly InterfaceSample[]): PipelineOutput {
    const out: PipelineOutput = { vlans: [], resellers: [], uplink: undefined, points: [] };
    const device = this.devices.get(deviceId);
    if (!device) return out;
    const results = new Map<string, RateResult>();
    let wallMs = 0;
    for (const sample of samples) {
      wallMs = Math.max(wallMs, sample.wallMs);
      for (const ruleId of this.byInterface.get(`${deviceId}/${sample.ifIndex}`) ?? []) {
        const rule = this.rules.get(ruleId) as PipelineRule;
        const reseller = this.resellers.get(rule.resellerId);
        if (!reseller) continue;
        const result = this.engine.update(ruleId, sample);
        results.set(ruleId, result);
        this.lastSampleWallMs.set(ruleId, sample.wallMs);
        this.lastSpeedMbps.set(ruleId, sample.ifHighSpeedMbps);
        const v: VlanOutcome = {
          ruleId,
          reseller,
          device,
          ifName: sample.ifName,
          vlan: vlanTag(sample.ifName),
          ifHighSpeedMbps: sample.ifHighSpeedMbps,
          sample,
          wallMs: sample.wallMs,
          result,
        };
        out.vlans.push(v);
        out.points.push(vlanPoint(v));
        for (const aggregate of this.aggregator.add(ruleId, result, sample.wallMs)) this.emitReseller(aggregate, out);
      }
    }
    const bound = [...this.bindings.values()].filter((b) => b.ok && b.deviceId === deviceId).map((b) => b.ruleId);
    if (bound.length > 0) {
      const total = deviceTotal(bound, results);
      out.uplink = { device, total, wallMs };
      if (total.kind === 'rate') {
        out.points.push({
          measurement: MEASUREMENTS.uplinkRate,
          tags: { isp: device.ispSlug, device: device.name },
          fields: { in_bps: total.inBps, out_bps: total.outBps, vlans: BigInt(total.vlans) },
          timestampMs: wallMs,
        });
      }
    }
    return out;
  }

  /**
   * A poll cycle of the device failed (timeout, auth, agent error): every
   * bound VLAN that got no sample since `cycleStartWallMs` gets an explicit
   * `poll_failed` gap, so a dead router shows as gaps rather than as silence,
   * and its resellers' rounds close as gaps. The rate engine keeps its
   * baseline: the next good sample measures the whole interval honestly.
   */
  pollFailed(deviceId: string, cycleStartWallMs: number, nowWallMs: number): PipelineOutput {
    const out: PipelineOutput = { vlans: [], resellers: [], uplink: undefined, points: [] };
    const device = this.devices.get(deviceId);
    if (!device) return out;
    for (const b of this.bindings.values()) {
      if (!b.ok || b.deviceId !== deviceId || b.ifName === null) continue;
      if ((this.lastSampleWallMs.get(b.ruleId) ?? 0) >= cycleStartWallMs) continue;
      const rule = this.rules.get(b.ruleId);
      const reseller = rule && this.resellers.get(rule.resellerId);
      if (!reseller) continue;
      const result: RateResult = { kind: 'gap', reason: 'poll_failed' };
      const v: VlanOutcome = {
        ruleId: b.ruleId,
        reseller,
        device,
        ifName: b.ifName,
        vlan: vlanTag(b.ifName),
        ifHighSpeedMbps: this.lastSpeedMbps.get(b.ruleId) ?? 0,
        sample: undefined,
        wallMs: nowWallMs,
        result,
      };
      out.vlans.push(v);
      out.points.push(vlanPoint(v));
      for (const aggregate of this.aggregator.add(b.ruleId, result, nowWallMs)) this.emitReseller(aggregate, out);
    }
    return out;
  }

  /** Closes reseller rounds a dead device left open (call every few seconds). */
  expire(nowWallMs: number): PipelineOutput {
    const out: PipelineOutput = { vlans: [], resellers: [], uplink: undefined, points: [] };
    for (const aggregate of this.aggregator.expire(nowWallMs)) this.emitReseller(aggregate, out);
    return out;
  }

  private emitReseller(aggregate: ResellerAggregate, out: PipelineOutput): void {
    const reseller = this.resellers.get(aggregate.resellerId);
    if (!reseller) return;
    if (aggregate.kind === 'gap' && aggregate.missingBindingIds.some((id) => !this.bindings.get(id)?.ok)) {
      aggregate = { ...aggregate, reason: 'unbound' };
    }
    out.resellers.push({ reseller, aggregate });
    if (aggregate.kind === 'rate') {
      this.latest.set(reseller.id, { resellerId: reseller.id, inBps: aggregate.inBps, outBps: aggregate.outBps, wallMs: aggregate.wallMs });
      out.points.push({
        measurement: MEASUREMENTS.resellerRate,
        tags: { isp: reseller.ispSlug, reseller: reseller.slug },
        fields: {
          in_bps: aggregate.inBps,
          out_bps: aggregate.outBps,
          committed_bps: aggregate.committedBps,
          utilization_in_pct: aggregate.utilizationIn * 100,
          utilization_out_pct: aggregate.utilizationOut * 100,
          vlans: BigInt(aggregate.vlans),
        },
        timestampMs: aggregate.wallMs,
      });
    } else {
      // A reseller-level gap: no device/ifname tags (the VLAN gaps carry those).
      out.points.push({
        measurement: MEASUREMENTS.rateGap,
        tags: { isp: reseller.ispSlug, reseller: reseller.slug, reason: aggregate.reason },
        fields: { count: 1n },
        timestampMs: aggregate.wallMs,
      });
    }
  }

  private reindex(): void {
    this.byInterface = new Map();
    for (const b of this.bindings.values()) {
      if (!b.ok || b.ifIndex === null) continue;
      const key = `${b.deviceId}/${b.ifIndex}`;
      const list = this.byInterface.get(key) ?? [];
      list.push(b.ruleId);
      this.byInterface.set(key, list);
    }
    const rulesByReseller = new Map<string, string[]>();
    for (const r of this.rules.values()) {
      if (!this.devices.has(r.deviceId)) continue;
      const list = rulesByReseller.get(r.resellerId) ?? [];
      list.push(r.id);
      rulesByReseller.set(r.resellerId, list);
    }
    this.aggregator.setResellers(
      [...rulesByReseller].flatMap(([resellerId, bindingIds]) => {
        const reseller = this.resellers.get(resellerId);
        return reseller ? [{ resellerId, committedMbps: reseller.committedMbps, bindingIds: bindingIds.sort() }] : [];
      }),
    );
  }
}

function vlanPoint(v: VlanOutcome): SeriesPoint {
  const tags = { isp: v.reseller.ispSlug, reseller: v.reseller.slug, device: v.device.name, ifname: v.ifName, vlan: v.vlan };
  if (v.result.kind === 'gap' || !v.sample) {
    const reason = v.result.kind === 'gap' ? v.result.reason : 'poll_failed';
    // A gap is recorded as such, never as zero traffic.
    const { vlan: _vlan, ...gapTags } = tags;
    return { measurement: MEASUREMENTS.rateGap, tags: { ...gapTags, reason }, fields: { count: 1n }, timestampMs: v.wallMs };
  }
  return {
    measurement: MEASUREMENTS.vlanRate,
    tags,
    fields: {
      in_bps: v.result.inBps,
      out_bps: v.result.outBps,
      // Octets moved in the interval (not the raw counter): sum() over a period is its volume.
      in_octets: v.result.inDeltaOctets,
      out_octets: v.result.outDeltaOctets,
      oper_status: BigInt(v.sample.operStatus),
    },
    timestampMs: v.sample.wallMs,
  };
}
