import { describe, expect, it } from 'vitest';
import type { InterfaceSample, SeriesPoint } from '../contracts';
import { RatePipeline, vlanTag, type PipelineBinding } from './ratePipeline';

const MB = 1_000_000n;
const T = 1_700_000_000_000;

function sample(ifIndex: number, ifName: string, seconds: number, inMB: bigint, outMB: bigint, over: Partial<InterfaceSample> = {}): InterfaceSample {
  return {
    deviceId: 'd1',
    deviceName: 'nw-edge-1',
    ifIndex,
    ifName,
    ifHighSpeedMbps: 1000,
    operStatus: 1,
    inOctets: inMB * MB,
    outOctets: outMB * MB,
    counters64: true,
    discontinuityTicks: 0,
    sysUpTimeTicks: 1000 + seconds * 100,
    monotonicMs: seconds * 1000,
    wallMs: T + seconds * 1000,
    ...over,
  };
}

function pipeline(bindings: PipelineBinding[]): RatePipeline {
  const p = new RatePipeline({ overspeedTolerancePercent: 5, aggregationWindowMs: 90_000 });
  p.setInventory({
    resellers: [
      { id: 'r-acme', slug: 'acme-net', ispSlug: 'northwind', committedMbps: 200 },
      { id: 'r-cedar', slug: 'cedar-link', ispSlug: 'northwind', committedMbps: 300 },
    ],
    devices: [{ id: 'd1', name: 'nw-edge-1', ispSlug: 'northwind' }],
    rules: [
      { id: 'v-acme', resellerId: 'r-acme', deviceId: 'd1' },
      { id: 'v-cedar-1', resellerId: 'r-cedar', deviceId: 'd1' },
      { id: 'v-cedar-2', resellerId: 'r-cedar', deviceId: 'd1' },
    ],
  });
  p.setBindings('d1', bindings);
  return p;
}

const allBound: PipelineBinding[] = [
  { ruleId: 'v-acme', deviceId: 'd1', ok: true, ifIndex: 10, ifName: 'ether1.10' },
  { ruleId: 'v-cedar-1', deviceId: 'd1', ok: true, ifIndex: 30, ifName: 'ether1.30' },
  { ruleId: 'v-cedar-2', deviceId: 'd1', ok: true, ifIndex: 31, ifName: 'ether1.31' },
];

function brief(points: SeriesPoint[]): string[] {
  return points.map((p) => {
    const tags = Object.entries(p.tags)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const fields = Object.entries(p.fields)
      .filter(([k]) => ['in_bps', 'out_bps', 'utilization_in_pct', 'reason', 'vlans', 'in_octets'].includes(k))
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 100) / 100 : String(v)}`)
      .join(',');
    return `${p.measurement} ${tags} ${fields}`;
  });
}

describe('RatePipeline', () => {
  it('first poll writes gaps only; the second writes VLAN, reseller and uplink rates', () => {
    const p = pipeline(allBound);
    const first = p.onSamples('d1', [sample(10, 'ether1.10', 0, 0n, 0n), sample(30, 'ether1.30', 0, 0n, 0n), sample(31, 'ether1.31', 0, 0n, 0n)]);
    expect(first.points.every((pt) => pt.measurement === 'rate_gap')).toBe(true);
    expect(first.uplink?.total).toEqual({ kind: 'gap', reason: 'first_sample' });
    const second = p.onSamples('d1', [sample(10, 'ether1.10', 60, 375n, 75n), sample(30, 'ether1.30', 60, 750n, 0n), sample(31, 'ether1.31', 60, 375n, 0n)]);
    expect(brief(second.points)).toEqual([
      'vlan_rate isp=northwind,reseller=acme-net,device=nw-edge-1,ifname=ether1.10,vlan=10 in_bps=50000000,out_bps=10000000,in_octets=375000000',
      'reseller_rate isp=northwind,reseller=acme-net in_bps=50000000,out_bps=10000000,utilization_in_pct=25,vlans=1',
      'vlan_rate isp=northwind,reseller=cedar-link,device=nw-edge-1,ifname=ether1.30,vlan=30 in_bps=100000000,out_bps=0,in_octets=750000000',
      'vlan_rate isp=northwind,reseller=cedar-link,device=nw-edge-1,ifname=ether1.31,vlan=31 in_bps=50000000,out_bps=0,in_octets=375000000',
      'reseller_rate isp=northwind,reseller=cedar-link in_bps=150000000,out_bps=0,utilization_in_pct=50,vlans=2',
      'uplink_rate isp=northwind,device=nw-edge-1 in_bps=200000000,out_bps=10000000,vlans=3',
    ]);
    expect(p.resellerRate('r-cedar')).toMatchObject({ inBps: 150e6, outBps: 0, wallMs: T + 60_000 });
  });

  it('renumbering: the binding follows the name, one rebind gap, then the series continues without a spike', () => {
    const p = pipeline(allBound);
    p.onSamples('d1', [sample(10, 'ether1.10', 0, 0n, 0n)]);
    p.onSamples('d1', [sample(10, 'ether1.10', 60, 375n, 0n)]);
    // The router renumbered ether1.10 to ifIndex 110; discovery rebinds the rule.
    p.setBindings('d1', [{ ...allBound[0], ifIndex: 110 } as PipelineBinding, ...allBound.slice(1)]);
    const rebind = p.onSamples('d1', [sample(110, 'ether1.10', 120, 750n, 0n)]);
    expect(brief(rebind.points)).toEqual(['rate_gap isp=northwind,reseller=acme-net,device=nw-edge-1,ifname=ether1.10,reason=rebind ', 'rate_gap isp=northwind,reseller=acme-net,reason=rebind ']);
    const after = p.onSamples('d1', [sample(110, 'ether1.10', 180, 1125n, 0n)]);
    expect(brief(after.points)[0]).toBe('vlan_rate isp=northwind,reseller=acme-net,device=nw-edge-1,ifname=ether1.10,vlan=10 in_bps=50000000,out_bps=0,in_octets=375000000');
  });

  it('a reseller with an unbound rule gets gaps (reason unbound), never a partial sum', () => {
    const p = pipeline([allBound[0] as PipelineBinding, allBound[1] as PipelineBinding, { ruleId: 'v-cedar-2', deviceId: 'd1', ok: false, ifIndex: null, ifName: null }]);
    const poll = (t: number, k: bigint) => p.onSamples('d1', [sample(10, 'ether1.10', t, k * 375n, 0n), sample(30, 'ether1.30', t, k * 375n, 0n)]);
    poll(0, 0n);
    poll(60, 1n);
    const third = poll(120, 2n);
    expect(third.resellers.map((r) => [r.reseller.slug, r.aggregate.kind])).toEqual([
      ['acme-net', 'rate'],
      ['cedar-link', 'gap'],
    ]);
    expect(third.resellers[1]?.aggregate).toMatchObject({ kind: 'gap', reason: 'unbound', missingBindingIds: ['v-cedar-2'] });
    expect(third.points.filter((pt) => pt.measurement === 'reseller_rate').map((pt) => pt.tags.reseller)).toEqual(['acme-net']);
    // The uplink is the sum of what is bound on the device.
    expect(third.uplink?.total).toMatchObject({ kind: 'rate', inBps: 100e6, vlans: 2 });
  });

  it('a failed poll gives explicit poll_failed gaps for the VLANs it missed, and the reseller round closes as a gap', () => {
    const p = pipeline(allBound);
    const all = (t: number, k: bigint) => [sample(10, 'ether1.10', t, k * 375n, 0n), sample(30, 'ether1.30', t, k * 375n, 0n), sample(31, 'ether1.31', t, k * 375n, 0n)];
    p.onSamples('d1', all(0, 0n));
    p.onSamples('d1', all(60, 1n));
    // Cycle at t=120 s: only ether1.30 answered before the agent went silent.
    p.onSamples('d1', [sample(30, 'ether1.30', 120, 750n, 0n)]);
    const failed = p.pollFailed('d1', T + 119_000, T + 122_000);
    expect(brief(failed.points)).toEqual([
      'rate_gap isp=northwind,reseller=acme-net,device=nw-edge-1,ifname=ether1.10,reason=poll_failed ',
      'rate_gap isp=northwind,reseller=acme-net,reason=poll_failed ',
      'rate_gap isp=northwind,reseller=cedar-link,device=nw-edge-1,ifname=ether1.31,reason=poll_failed ',
      'rate_gap isp=northwind,reseller=cedar-link,reason=poll_failed ',
    ]);
    // The next good poll measures the whole 120 s since the last sample of ether1.10: still 50 Mb/s, no spike.
    const next = p.onSamples('d1', all(180, 3n));
    expect(next.vlans.find((v) => v.ruleId === 'v-acme')?.result).toMatchObject({ kind: 'rate', inBps: 50e6 });
  });

  it('samples of interfaces nobody bound and of unknown devices are ignored', () => {
    const p = pipeline(allBound);
    expect(p.onSamples('d1', [sample(99, 'ether9', 0, 0n, 0n)]).points).toEqual([]);
    expect(p.onSamples('zz', [sample(10, 'ether1.10', 0, 0n, 0n)]).points).toEqual([]);
  });

  it.each([
    ['ether1.10', '10'],
    ['vlan20', '20'],
    ['Vlan-interface300', '300'],
    ['Gi0/0/1.4094', '4094'],
    ['ether1', ''],
    ['ether1.5000', ''],
  ])('vlanTag(%s) = %s', (name, tag) => {
    expect(vlanTag(name)).toBe(tag);
  });
});
