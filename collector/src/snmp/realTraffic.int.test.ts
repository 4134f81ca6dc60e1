import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret, silentLogger, type Config, type Device, type ResellerVlan } from '@bandwatch/core';
import { requireBinary, startSnmpd, waitFor, type SnmpdServer } from '@bandwatch/core/testing';
import type { InterfaceSample } from '../contracts';
import { RatePipeline } from '../rates/ratePipeline';
import { PollScheduler, type BindingResult } from './pollScheduler';
import { snmpTestConfig } from './testing/snmpConfig';

/*
 * Real traffic through real kernel interfaces, read by the real snmpd and our
 * poller. Three namespaces hang off a bridge in the root namespace; the
 * root-side veth ends are named like VLAN sub-interfaces (ether1.10,
 * ether1.20). iperf3 pushes 50 Mbps from A and 150 Mbps from B to C, so
 * ether1.10 receives (ifHCInOctets) 50 Mbps and ether1.20 150 Mbps. Over a
 * steady window of 60+ s the poller's rates (through the rate pipeline) must
 * match the kernel's own byte counters within 1 % and iperf3 within 2 %.
 *
 * Only names starting with bwc (namespaces, bridge, other ends) and the
 * subnet 10.99.1.0/24 are used; the topology exists before any packet is
 * sent to 10.99.1.x and is removed afterwards.
 */

const NS = ['bwca', 'bwcb', 'bwcc'] as const;
const BRIDGE = 'bwcbr1';
const LINKS = [
  { root: 'ether1.10', ns: 'bwca', inner: 'bwca1', addr: '10.99.1.1' },
  { root: 'ether1.20', ns: 'bwcb', inner: 'bwcb1', addr: '10.99.1.2' },
  { root: 'bwcc0', ns: 'bwcc', inner: 'bwcc1', addr: '10.99.1.3' },
] as const;
const SERVER = '10.99.1.3';
const IPERF_SECONDS = 80;
const WARMUP_MS = 6000;
const TAIL_MS = 4000;
const POLL_MS = 5000;

let ip: string;
let iperf3: string;
let snmpd: SnmpdServer | undefined;
const children: ChildProcess[] = [];

function sh(cmd: string, args: string[], allowFail = false): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function teardown(): void {
  // Deleting a namespace deletes its veth ends and so their root-side peers.
  for (const ns of NS) sh(ip, ['netns', 'del', ns], true);
  sh(ip, ['link', 'del', BRIDGE], true);
  for (const l of LINKS) sh(ip, ['link', 'del', l.root], true);
}

function linkExists(name: string): boolean {
  return spawnSync(ip, ['link', 'show', 'dev', name], { encoding: 'utf8' }).status === 0;
}

function disableIpv6(ns: string | undefined, dev: string): void {
  // sysctl reads the dot in ether1.10 as a separator; write /proc directly.
  // (IPv6 neighbour discovery would otherwise add stray packets.)
  const path = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  if (ns) sh(ip, ['netns', 'exec', ns, 'sh', '-c', `echo 1 > ${path}`]);
  else writeFileSync(path, '1');
}

function buildTopology(): void {
  teardown(); // leftovers of an earlier crashed run of this very test (our names only)
  for (const l of LINKS) if (linkExists(l.root)) throw new Error(`interface ${l.root} already exists in the root namespace; remove it or stop whoever made it`);
  for (const ns of NS) sh(ip, ['netns', 'add', ns]);
  sh(ip, ['link', 'add', BRIDGE, 'type', 'bridge']);
  disableIpv6(undefined, BRIDGE);
  sh(ip, ['link', 'set', BRIDGE, 'up']);
  for (const l of LINKS) {
    sh(ip, ['link', 'add', l.root, 'type', 'veth', 'peer', 'name', l.inner, 'netns', l.ns]);
    disableIpv6(undefined, l.root);
    sh(ip, ['link', 'set', l.root, 'master', BRIDGE]);
    sh(ip, ['link', 'set', l.root, 'up']);
    disableIpv6(l.ns, l.inner);
    sh(ip, ['-n', l.ns, 'addr', 'add', `${l.addr}/24`, 'dev', l.inner]);
    sh(ip, ['-n', l.ns, 'link', 'set', l.inner, 'up']);
    sh(ip, ['-n', l.ns, 'link', 'set', 'lo', 'up']);
  }
}

function kernelRxBytes(dev: string): bigint {
  return BigInt(readFileSync(`/sys/class/net/${dev}/statistics/rx_bytes`, 'utf8').trim());
}

function runIperfClient(ns: string, port: number, rate: string): Promise<{ receivedBps: number; sentBps: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ip, ['netns', 'exec', ns, iperf3, '-c', SERVER, '-p', String(port), '-b', rate, '-t', String(IPERF_SECONDS), '-J'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        const j = JSON.parse(out) as { end?: { sum_received?: { bits_per_second: number }; sum_sent?: { bits_per_second: number } }; error?: string };
        if (code !== 0 || !j.end?.sum_received) return reject(new Error(`iperf3 client in ${ns} exited ${code}: ${j.error ?? out.slice(0, 400)}`));
        resolve({ receivedBps: j.end.sum_received.bits_per_second, sentBps: j.end.sum_sent?.bits_per_second ?? 0 });
      } catch (err) {
        reject(new Error(`iperf3 client in ${ns}: unreadable output (${String(err)}): ${out.slice(0, 400)}`));
      }
    });
  });
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the real-traffic test needs root (network namespaces); run it as root');
  ip = requireBinary('ip', 'iproute2');
  iperf3 = requireBinary('iperf3', 'iperf3');
  buildTopology();
  // Only now, with every 10.99.1.x address inside our namespaces, may a packet go there.
  await waitFor('A reaches C over the bridge', () => spawnSync(ip, ['netns', 'exec', 'bwca', 'ping', '-c1', '-W1', SERVER]).status === 0, 10000, 200);
  await waitFor('B reaches C over the bridge', () => spawnSync(ip, ['netns', 'exec', 'bwcb', 'ping', '-c1', '-W1', SERVER]).status === 0, 10000, 200);
  // Cache 0: snmpd re-reads the kernel counters on every request, so a
  // counter is as old as its response (with 1 s it can be a second stale,
  // which alone is 1.7 % over a 60 s window).
  snmpd = await startSnmpd({ cacheSeconds: 0 });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  await snmpd?.stop();
  if (ip) teardown();
});

describe('poller over real traffic', () => {
  it(
    'per-VLAN rates from snmpd match the kernel within 1 % and iperf3 within 2 %, and utilization follows',
    async () => {
      const servers = [5201, 5202].map((port) => {
        const s = spawn(ip, ['netns', 'exec', 'bwcc', iperf3, '-s', '-B', SERVER, '-p', String(port), '-1'], { stdio: 'ignore' });
        children.push(s);
        return s;
      });
      await waitFor('iperf3 servers listening', () => /:520[12]\b[\s\S]*:520[12]\b/.test(sh(ip, ['netns', 'exec', 'bwcc', 'ss', '-ltn'])), 10000, 100);
      expect(servers.every((s) => s.exitCode === null)).toBe(true);

      const device: Device = { id: 'dev-host', ispId: 'isp', name: 'host', host: '127.0.0.1', port: snmpd!.port, authRef: 'v2', uplinkCapacityMbps: 10000, enabled: true };
      const vlans: ResellerVlan[] = [
        { id: 'rule-acme', ispId: 'isp', resellerId: 'acme', deviceId: device.id, matchKind: 'if_name', matchValue: 'ether1.10', boundIfIndex: null, boundIfName: null },
        { id: 'rule-blue', ispId: 'isp', resellerId: 'blue', deviceId: device.id, matchKind: 'if_name_regex', matchValue: '^ether1\\.20$', boundIfIndex: null, boundIfName: null },
      ];
      const pipeline = new RatePipeline({ overspeedTolerancePercent: 5, aggregationWindowMs: POLL_MS * 1.5 });
      pipeline.setInventory({
        resellers: [
          { id: 'acme', slug: 'acme', ispSlug: 'isp', committedMbps: 200 },
          { id: 'blue', slug: 'blue', ispSlug: 'isp', committedMbps: 200 },
        ],
        devices: [{ id: device.id, name: device.name, ispSlug: 'isp' }],
        rules: vlans.map((v) => ({ id: v.id, resellerId: v.resellerId, deviceId: v.deviceId })),
      });

      interface Row {
        atMs: number;
        sample: InterfaceSample;
        kernelBytes: bigint;
        kernelAtMs: number;
        inDeltaOctets?: bigint;
        elapsedSeconds?: number;
        utilizationIn?: number;
      }
      const rows = new Map<string, Row[]>([
        ['ether1.10', []],
        ['ether1.20', []],
      ]);
      const errors: Error[] = [];
      let bindings: BindingResult[] = [];
      const config: Pick<Config, 'snmp' | 'collector'> = {
        snmp: snmpTestConfig({ v2: { version: '2c', community: new Secret('public'), security_level: 'authPriv', auth_protocol: 'sha', priv_protocol: 'aes' } }, { timeout_ms: 1000, retries: 1 }),
        collector: { poll_interval_seconds: 10, discovery_interval_seconds: 3600, rollup_interval_seconds: 300, overspeed_tolerance_percent: 5, shard: { index: 0, count: 1 }, http: { listen: '127.0.0.1', port: 9105 } },
      };
      const scheduler = new PollScheduler({
        devices: [device],
        vlans,
        config,
        logger: silentLogger(),
        pollIntervalMs: POLL_MS,
        onBinding: (b) => {
          bindings = b;
          pipeline.setBindings(device.id, b.map((x) => ({ ruleId: x.vlanId, deviceId: x.deviceId, ok: x.ok, ifIndex: x.ifIndex, ifName: x.ifName })));
        },
        onSamples: (deviceId, samples) => {
          // The kernel's counters, read the moment the SNMP response arrived.
          const kernel = new Map([...rows.keys()].map((dev) => [dev, { bytes: kernelRxBytes(dev), at: performance.now() }]));
          const out = pipeline.onSamples(deviceId, samples);
          for (const s of samples) {
            const list = rows.get(s.ifName);
            const k = kernel.get(s.ifName);
            if (!list || !k) continue;
            const v = out.vlans.find((x) => x.sample === s);
            const resellerId = s.ifName === 'ether1.10' ? 'acme' : 'blue';
            const agg = out.resellers.find((r) => r.reseller.id === resellerId)?.aggregate;
            list.push({
              atMs: s.monotonicMs,
              sample: s,
              kernelBytes: k.bytes,
              kernelAtMs: k.at,
              ...(v?.result.kind === 'rate' ? { inDeltaOctets: v.result.inDeltaOctets, elapsedSeconds: v.result.elapsedSeconds } : {}),
              ...(agg?.kind === 'rate' ? { utilizationIn: agg.utilizationIn } : {}),
            });
          }
        },
        onPollError: (_id, err) => errors.push(err),
      });
      scheduler.start();
      try {
        await waitFor('first poll', () => (rows.get('ether1.10')?.length ?? 0) >= 1, 15000);
        expect(bindings.map((b) => [b.vlanId, b.ok, b.ifName])).toEqual([
          ['rule-acme', true, 'ether1.10'],
          ['rule-blue', true, 'ether1.20'],
        ]);
        const trafficStart = performance.now();
        const [a, b] = await Promise.all([runIperfClient('bwca', 5201, '50M'), runIperfClient('bwcb', 5202, '150M')]);
        const trafficEnd = performance.now();
        await new Promise((r) => setTimeout(r, 500));

        const report: string[] = [];
        for (const [dev, iperf, nominal, committed] of [
          ['ether1.10', a, 50e6, 200e6],
          ['ether1.20', b, 150e6, 200e6],
        ] as const) {
          const steady = (rows.get(dev) ?? []).filter((r) => r.atMs >= trafficStart + WARMUP_MS && r.atMs <= trafficEnd - TAIL_MS);
          const first = steady[0]!;
          const last = steady[steady.length - 1]!;
          const windowSeconds = (last.atMs - first.atMs) / 1000;
          expect(windowSeconds).toBeGreaterThanOrEqual(60);
          // Mean of the pipeline's per-interval rates over the window (time-weighted).
          const intervals = steady.slice(1);
          expect(intervals.every((r) => r.inDeltaOctets !== undefined)).toBe(true);
          const octets = intervals.reduce((s, r) => s + (r.inDeltaOctets ?? 0n), 0n);
          const seconds = intervals.reduce((s, r) => s + (r.elapsedSeconds ?? 0), 0);
          const pollerBps = (Number(octets) * 8) / seconds;
          const kernelBps = (Number(last.kernelBytes - first.kernelBytes) * 8) / ((last.kernelAtMs - first.kernelAtMs) / 1000);
          const vsKernel = (pollerBps - kernelBps) / kernelBps;
          const vsIperf = (pollerBps - iperf.receivedBps) / iperf.receivedBps;
          const utils = intervals.map((r) => r.utilizationIn).filter((u): u is number => u !== undefined);
          const meanUtil = utils.reduce((s, u) => s + u, 0) / utils.length;
          report.push(
            `${dev}: poller ${(pollerBps / 1e6).toFixed(3)} Mbps, kernel ${(kernelBps / 1e6).toFixed(3)} Mbps (${(vsKernel * 100).toFixed(3)} %), iperf3 ${(iperf.receivedBps / 1e6).toFixed(3)} Mbps (${(vsIperf * 100).toFixed(3)} %), utilization ${(meanUtil * 100).toFixed(2)} % of 200 Mbps, window ${windowSeconds.toFixed(1)} s, ${intervals.length} intervals`,
          );
          expect(Math.abs(vsKernel)).toBeLessThan(0.01);
          expect(Math.abs(vsIperf)).toBeLessThan(0.02);
          expect(Math.abs(pollerBps - nominal) / nominal).toBeLessThan(0.03);
          expect(utils.length).toBeGreaterThanOrEqual(intervals.length - 1);
          expect(Math.abs(meanUtil - pollerBps / committed)).toBeLessThan(0.01);
        }
        console.log(report.join('\n'));
        expect(errors).toEqual([]);
      } finally {
        await scheduler.stop();
      }
    },
    (IPERF_SECONDS + 60) * 1000,
  );
});
