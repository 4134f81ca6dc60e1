import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Secret, silentLogger, type Config, type Device, type KindedError, type ResellerVlan } from '@bandwatch/core';
import { waitFor } from '@bandwatch/core/testing';
import { parseProfile, startSimulator, type RunningSimulator } from '@bandwatch/simulator';
import type { InterfaceSample } from '../contracts';
import { PollScheduler, type BindingResult, type DiscoveryReason } from './pollScheduler';
import { SnmpErrorCounts } from './snmpClient';

/*
 * The poller against the simulator: what goes on the wire (packing), what
 * comes out (samples whose deltas give the model's rate), and how it reacts
 * to the faults a real network produces.
 */

const IFACES = Array.from({ length: 10 }, (_v, i) => ({ name: `ether1.${10 + i}`, alias: `cust ${i}`, speed_mbps: 1000, in: { kind: 'constant' as const, mbps: 100 + 10 * i } }));

const profile = parseProfile({
  devices: [
    { name: 'edge', port: 0, community: 'public', interfaces: [...IFACES, { name: 'ether2.10', alias: 'dup vlan 10', speed_mbps: 1000 }] },
    { name: 'core', port: 0, v3_users: [{ username: 'bw', auth_password: 'auth-pass-1', priv_password: 'priv-pass-1' }], interfaces: [{ name: 'Gi0/0/1.100', alias: 'delta', speed_mbps: 1000, in: { kind: 'constant', mbps: 50 } }] },
    { name: 'old', port: 0, community: 'public', if_xtable: false, interfaces: [{ name: 'eth0.7', speed_mbps: 100, in: { kind: 'constant', mbps: 20 } }] },
  ],
});

let sim: RunningSimulator;
const port = (name: string) => sim.devices.find((d) => d.name === name)!.port;

function config(overrides: Partial<Config['snmp']> = {}): Pick<Config, 'snmp' | 'collector'> {
  return {
    snmp: {
      timeout_ms: 300,
      retries: 0,
      port: 161,
      max_repetitions: 25,
      max_varbinds_per_pdu: 13,
      max_in_flight_per_device: 1,
      max_concurrent_requests: 50,
      fast_get: true,
      auths: {
        v2: { version: '2c', community: new Secret('public'), security_level: 'authPriv', auth_protocol: 'sha', priv_protocol: 'aes' },
        v3: { version: '3', username: 'bw', security_level: 'authPriv', auth_protocol: 'sha', auth_password: new Secret('auth-pass-1'), priv_protocol: 'aes', priv_password: new Secret('priv-pass-1') },
      },
      ...overrides,
    },
    collector: {
      poll_interval_seconds: 10,
      discovery_interval_seconds: 3600,
      rollup_interval_seconds: 300,
      overspeed_tolerance_percent: 5,
      shard: { index: 0, count: 1 },
      http: { listen: '127.0.0.1', port: 9105 },
    },
  };
}

const device = (name: string, authRef: string): Device => ({ id: `dev-${name}`, ispId: 'isp', name, host: '127.0.0.1', port: port(name), authRef, uplinkCapacityMbps: 1000, enabled: true });
const vlan = (id: string, deviceName: string, matchKind: ResellerVlan['matchKind'], matchValue: string): ResellerVlan => ({
  id,
  ispId: 'isp',
  resellerId: `res-${id}`,
  deviceId: `dev-${deviceName}`,
  matchKind,
  matchValue,
  boundIfIndex: null,
  boundIfName: null,
});

interface Recorder {
  samples: Map<string, InterfaceSample[][]>;
  errors: Map<string, KindedError[]>;
  bindings: BindingResult[][];
  discoveries: Array<{ deviceId: string; reason: DiscoveryReason; ok: boolean }>;
  cycles: Array<{ deviceId: string; pdus: number; varbinds: number; ok: boolean }>;
  overruns: Map<string, number>;
}

let scheduler: PollScheduler | undefined;

function start(
  devices: Device[],
  vlans: ResellerVlan[],
  opts: { intervalMs?: number; snmp?: Partial<Config['snmp']>; stats?: SnmpErrorCounts; inventory?: Config['inventory'] } = {},
): Recorder {
  const r: Recorder = { samples: new Map(), errors: new Map(), bindings: [], discoveries: [], cycles: [], overruns: new Map() };
  scheduler = new PollScheduler({
    devices,
    vlans,
    config: { ...config(opts.snmp), ...(opts.inventory ? { inventory: opts.inventory } : {}) },
    logger: silentLogger(),
    pollIntervalMs: opts.intervalMs ?? 500,
    onSamples: (id, s) => r.samples.set(id, [...(r.samples.get(id) ?? []), s]),
    onPollError: (id, e) => r.errors.set(id, [...(r.errors.get(id) ?? []), e]),
    onBinding: (b) => r.bindings.push(b),
    ...(opts.stats ? { snmpStats: opts.stats } : {}),
    pollStats: {
      onDiscovery: (deviceId, info) => r.discoveries.push({ deviceId, reason: info.reason, ok: info.ok }),
      onCycle: (deviceId, info) => r.cycles.push({ deviceId, pdus: info.pdus, varbinds: info.varbinds, ok: info.ok }),
      onOverrun: (deviceId) => r.overruns.set(deviceId, (r.overruns.get(deviceId) ?? 0) + 1),
    },
  });
  scheduler.start();
  return r;
}

async function control(path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${sim.controlUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
}

function series(r: Recorder, deviceId: string, ifName: string): InterfaceSample[] {
  return (r.samples.get(deviceId) ?? []).flat().filter((s) => s.ifName === ifName);
}

function meanMbps(s: InterfaceSample[]): number {
  const a = s[0]!;
  const b = s[s.length - 1]!;
  return (Number(b.inOctets - a.inOctets) * 8) / ((b.monotonicMs - a.monotonicMs) / 1000) / 1e6;
}

beforeAll(async () => {
  sim = await startSimulator(profile, { logger: silentLogger() });
});

afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
  await control('/devices/edge/heal');
  await control('/devices/core/heal');
});

afterAll(async () => {
  await sim?.stop();
});

describe('PollScheduler', () => {
  it('binds rules, packs the bound OIDs into as few PDUs as allowed, and its counter deltas give the model rate', async () => {
    const vlans = [
      ...IFACES.map((f, i) => vlan(`v${i}`, 'edge', 'if_name', f.name)),
      vlan('dup', 'edge', 'vlan_id', '10'),
      vlan('none', 'edge', 'if_name', 'ether9.9'),
      vlan('v3', 'core', 'if_name_regex', '^Gi0/0/1\\.100$'),
    ];
    const r = start([device('edge', 'v2'), device('core', 'v3')], vlans);
    await waitFor('6 edge cycles', () => (r.samples.get('dev-edge')?.length ?? 0) >= 6, 15000);

    const edgeBindings = r.bindings.find((b) => b[0]?.deviceId === 'dev-edge')!;
    expect(edgeBindings.filter((b) => b.ok)).toHaveLength(10);
    expect(edgeBindings.find((b) => b.vlanId === 'dup')).toMatchObject({ ok: false, reason: 'ambiguous', ifIndex: null });
    expect(edgeBindings.find((b) => b.vlanId === 'dup')?.error).toContain('ether1.10#1, ether2.10#11');
    expect(edgeBindings.find((b) => b.vlanId === 'none')).toMatchObject({ ok: false, reason: 'no_match' });
    expect(r.bindings.find((b) => b[0]?.deviceId === 'dev-core')?.[0]).toMatchObject({ ok: true, ifName: 'Gi0/0/1.100', ifIndex: 1 });

    // 10 interfaces × 4 OIDs with 13 varbinds per PDU (sysUpTime + 3 interfaces) = 4 PDUs of ≤ 13 varbinds.
    const edgeCycles = r.cycles.filter((c) => c.deviceId === 'dev-edge');
    expect(edgeCycles[0]).toMatchObject({ pdus: 4, varbinds: 4 + 40, ok: true });

    const first = r.samples.get('dev-edge')![0]!;
    expect(first.map((s) => s.ifName).sort()).toEqual(IFACES.map((f) => f.name).sort());
    expect(first.every((s) => s.counters64 && s.operStatus === 1 && s.ifHighSpeedMbps === 1000 && s.sysUpTimeTicks > 0)).toBe(true);

    for (const [i, f] of IFACES.entries()) {
      const mbps = meanMbps(series(r, 'dev-edge', f.name));
      expect(Math.abs(mbps - (100 + 10 * i)) / (100 + 10 * i)).toBeLessThan(0.01);
    }
    expect(Math.abs(meanMbps(series(r, 'dev-core', 'Gi0/0/1.100')) - 50) / 50).toBeLessThan(0.01);
    expect(r.errors.size).toBe(0);
  });

  it('adapts to an agent whose messages are smaller than max_varbinds_per_pdu (tooBig): walks and polls still get everything', async () => {
    await control('/devices/edge/faults', { max_response_varbinds: 13 });
    const r = start([device('edge', 'v2')], IFACES.map((f, i) => vlan(`v${i}`, 'edge', 'if_name', f.name)), { snmp: { max_varbinds_per_pdu: 60, max_repetitions: 25 } });
    await waitFor('3 cycles', () => (r.samples.get('dev-edge')?.length ?? 0) >= 3, 15000);
    // Discovery fell back to fewer repetitions and still bound all ten rules.
    expect(r.bindings[0]?.filter((b) => b.ok)).toHaveLength(10);
    // Every cycle delivered every interface, the first one by splitting refused PDUs.
    expect(r.samples.get('dev-edge')!.every((cycle) => cycle.length === 10)).toBe(true);
    // Later cycles use the learned size straight away: 4 PDUs of at most 13 varbinds.
    expect(r.cycles.filter((c) => c.deviceId === 'dev-edge').slice(1).every((c) => c.pdus === 4 && c.varbinds === 44 && c.ok)).toBe(true);
    expect(r.errors.get('dev-edge') ?? []).toEqual([]);
  });

  it('falls back to 32-bit counters on an agent without ifXTable', async () => {
    const r = start([device('old', 'v2')], [vlan('o', 'old', 'vlan_id', '7')]);
    await waitFor('3 cycles', () => (r.samples.get('dev-old')?.length ?? 0) >= 3, 10000);
    const s = series(r, 'dev-old', 'eth0.7');
    expect(s.every((x) => !x.counters64 && x.ifHighSpeedMbps === 100 && x.discontinuityTicks === 0)).toBe(true);
    expect(Math.abs(meanMbps(s) - 20) / 20).toBeLessThan(0.01);
  });

  it('follows the name when the agent renumbers: rediscovers, rebinds, and the counters continue', async () => {
    const r = start([device('edge', 'v2')], [vlan('a', 'edge', 'if_name', 'ether1.12')]);
    await waitFor('2 cycles', () => (r.samples.get('dev-edge')?.length ?? 0) >= 2, 10000);
    await control('/devices/edge/renumber', { offset: 500 });
    await waitFor('a sample at the new ifIndex', () => series(r, 'dev-edge', 'ether1.12').some((s) => s.ifIndex === 503), 10000);
    expect(r.discoveries.some((d) => d.reason === 'missing_instance')).toBe(true);
    expect(r.bindings.at(-1)?.[0]).toMatchObject({ ok: true, ifIndex: 503, ifName: 'ether1.12' });
    const s = series(r, 'dev-edge', 'ether1.12');
    for (let i = 1; i < s.length; i++) expect(s[i]!.inOctets).toBeGreaterThanOrEqual(s[i - 1]!.inOctets);
    await control('/devices/edge/renumber', { offset: -500 });
  });

  it('rediscovers when sysUpTime goes backwards (reboot), and reports the reset in the samples', async () => {
    const r = start([device('edge', 'v2')], [vlan('a', 'edge', 'if_name', 'ether1.10')]);
    await waitFor('2 cycles', () => (r.samples.get('dev-edge')?.length ?? 0) >= 2, 10000);
    await new Promise((res) => setTimeout(res, 300));
    await control('/devices/edge/reboot');
    await waitFor('a reboot rediscovery', () => r.discoveries.some((d) => d.reason === 'sysuptime_backwards'), 10000);
    const s = series(r, 'dev-edge', 'ether1.10');
    const drop = s.findIndex((x, i) => i > 0 && x.sysUpTimeTicks < s[i - 1]!.sysUpTimeTicks);
    expect(drop).toBeGreaterThan(0);
    expect(s[drop]!.inOctets).toBeLessThan(s[drop - 1]!.inOctets);
  });

  it('carries ifCounterDiscontinuityTime after a counter reset', async () => {
    const r = start([device('edge', 'v2')], [vlan('a', 'edge', 'if_name', 'ether1.11')]);
    await waitFor('1 cycle', () => (r.samples.get('dev-edge')?.length ?? 0) >= 1, 10000);
    await control('/devices/edge/reset-counters', { interfaces: ['ether1.11'] });
    await waitFor('a sample with a discontinuity', () => series(r, 'dev-edge', 'ether1.11').some((s) => s.discontinuityTicks > 0), 10000);
  });

  it('reports a dead device as timeouts, counted per device, while the other device keeps polling', async () => {
    const stats = new SnmpErrorCounts();
    const r = start([device('edge', 'v2'), device('core', 'v3')], [vlan('a', 'edge', 'if_name', 'ether1.10'), vlan('b', 'core', 'vlan_id', '100')], { stats });
    await waitFor('both polled', () => (r.samples.get('dev-edge')?.length ?? 0) >= 1 && (r.samples.get('dev-core')?.length ?? 0) >= 1, 10000);
    await control('/devices/edge/faults', { silent: true });
    const before = r.samples.get('dev-core')!.length;
    await waitFor('edge timeouts', () => (r.errors.get('dev-edge') ?? []).length >= 3, 10000);
    expect(r.errors.get('dev-edge')!.every((e) => e.kind === 'timeout' && e.message.includes('device edge'))).toBe(true);
    expect(stats.count('edge', 'timeout')).toBeGreaterThanOrEqual(3);
    expect(stats.count('core', 'timeout')).toBe(0);
    expect(r.samples.get('dev-core')!.length).toBeGreaterThan(before + 1);
  });

  it("uses a device's own timeout_ms/retries from the config inventory over snmp.timeout_ms", async () => {
    const inventory: Config['inventory'] = {
      isps: [
        {
          slug: 'isp',
          name: 'ISP',
          ops_contacts: [],
          devices: [{ name: 'edge', host: '127.0.0.1', port: port('edge'), auth: 'v2', timeout_ms: 150, retries: 0 }],
          resellers: [],
        },
      ],
    };
    await control('/devices/edge/faults', { silent: true });
    // snmp.timeout_ms 5 s × 2 tries would take 10 s per failed PDU; the device says 150 ms × 1.
    const r = start([device('edge', 'v2'), device('core', 'v3')], [vlan('a', 'edge', 'if_name', 'ether1.10'), vlan('b', 'core', 'vlan_id', '100')], {
      snmp: { timeout_ms: 5000, retries: 1 },
      inventory,
    });
    const t0 = performance.now();
    await waitFor('edge timeout', () => (r.errors.get('dev-edge') ?? []).length >= 1, 4000);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.errors.get('dev-edge')?.[0]?.kind).toBe('timeout');
  });

  it("a device that stops answering changes another device's cycle time by less than 10 %", async () => {
    const devices = [device('edge', 'v2'), device('core', 'v3')];
    const vlans = [...IFACES.map((f, i) => vlan(`v${i}`, 'edge', 'if_name', f.name)), vlan('b', 'core', 'vlan_id', '100')];
    // Every PDU of the dead device waits out its timeout (400 ms × 2 tries),
    // far longer than the 500 ms interval: its cycles overrun.
    const r = start(devices, vlans, { intervalMs: 500, snmp: { timeout_ms: 400, retries: 1 } });
    const cycleTimes = async (ms: number): Promise<number> => {
      const from = r.samples.get('dev-core')?.length ?? 0;
      await new Promise((res) => setTimeout(res, ms));
      const s = (r.samples.get('dev-core') ?? []).slice(from).map((x) => x[0]!.monotonicMs);
      const gaps = s.slice(1).map((t, i) => t - s[i]!);
      return gaps.reduce((a, b) => a + b, 0) / gaps.length;
    };
    await waitFor('polling', () => (r.samples.get('dev-core')?.length ?? 0) >= 2, 10000);
    const healthy = await cycleTimes(5000);
    await control('/devices/edge/faults', { silent: true });
    const withDead = await cycleTimes(5000);
    expect(r.errors.get('dev-edge')?.length ?? 0).toBeGreaterThan(0);
    expect(r.overruns.get('dev-edge') ?? 0).toBeGreaterThan(0);
    expect(Math.abs(withDead - healthy) / healthy).toBeLessThan(0.1);
    console.log(`core cycle time: ${healthy.toFixed(1)} ms with edge healthy, ${withDead.toFixed(1)} ms with edge dead`);
  });

  it('counts an overrun instead of stacking cycles when the agent is slower than the interval', async () => {
    const r = start([device('edge', 'v2')], [vlan('a', 'edge', 'if_name', 'ether1.10')], { intervalMs: 300, snmp: { timeout_ms: 2000 } });
    await waitFor('1 cycle', () => (r.samples.get('dev-edge')?.length ?? 0) >= 1, 10000);
    await control('/devices/edge/faults', { delay_ms: 700 });
    await waitFor('overruns', () => (r.overruns.get('dev-edge') ?? 0) >= 3, 10000);
    const n = r.samples.get('dev-edge')!.length;
    await control('/devices/edge/heal');
    await waitFor('fast again', () => r.samples.get('dev-edge')!.length >= n + 3, 10000);
    expect(r.errors.get('dev-edge') ?? []).toHaveLength(0);
  });
});
