import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@bandwatch/core';
import { requireBinary, startPrometheus, waitFor, type PrometheusServer } from '@bandwatch/core/testing';
import { createCollectorApp, listen, type RunningHttp } from '../http/collectorHttp';
import { evaluateHealth, type HealthReport } from '../http/health';
import { CollectorMetrics } from './collectorMetrics';

const acme = { isp: 'northwind', reseller: 'acme-net' };
const vlan10 = { ...acme, device: 'nw-edge-1', ifname: 'ether1.10', vlan: '10' };

/** Metrics as a collector records them after a few polls, including every error path. */
function populated(): CollectorMetrics {
  const m = new CollectorMetrics();
  m.recordVlan(vlan10, { kind: 'gap', reason: 'first_sample' }, 1000);
  m.recordVlan(vlan10, { kind: 'rate', inBps: 50e6, outBps: 5e6, inDeltaOctets: 375_000_000n, outDeltaOctets: 37_500_000n, elapsedSeconds: 60 }, 1000);
  m.recordVlan({ ...vlan10, ifname: 'ether1.20', vlan: '20' }, { kind: 'gap', reason: 'counter_reset' }, 1000);
  m.recordVlan({ ...vlan10, ifname: 'ether1.20', vlan: '20' }, { kind: 'gap', reason: 'overspeed' }, 1000);
  m.recordReseller(acme, { inBps: 50e6, outBps: 5e6, utilizationIn: 0.25, utilizationOut: 0.025, committedBps: 200e6 });
  m.recordReseller({ isp: 'northwind', reseller: 'cedar-link' }, { gap: 'incomplete' });
  m.recordUplink({ isp: 'northwind', device: 'nw-edge-1' }, { inBps: 50e6, outBps: 5e6 });
  m.recordPoll('nw-edge-1', 0.042, true, Date.now());
  m.recordPoll('sg-core-1', 2.0, false, Date.now());
  m.recordSnmpError('sg-core-1', 'timeout');
  m.setBindingProblems([{ device: 'nw-edge-1', problem: 'ambiguous' }]);
  const hooks = m.writerHooks();
  hooks.written?.(1200);
  hooks.dropped?.(10, 'spool_full');
  hooks.failed?.('connection');
  hooks.spool?.(4096, 10);
  m.rollupRows.inc(3);
  return m;
}

describe('collector /metrics and /healthz', () => {
  let http: RunningHttp;
  let prometheus: PrometheusServer | undefined;
  let health: HealthReport;
  const metrics = populated();

  beforeAll(async () => {
    health = evaluateHealth({
      nowWallMs: 100_000,
      startedWallMs: 0,
      pollIntervalSeconds: 10,
      devices: [{ device: 'nw-edge-1', lastSuccessWallMs: 95_000 }],
      spool: { bytes: 0, points: 0, maxBytes: 1000, failing: false, lastError: undefined },
    });
    const app = createCollectorApp({ metrics, health: () => health, logger: silentLogger() });
    http = await listen(app, '127.0.0.1', 0);
  });
  afterAll(async () => {
    await prometheus?.stop();
    await http?.close();
  });

  it('promtool check metrics is clean on the real /metrics output', async () => {
    const res = await fetch(`http://127.0.0.1:${http.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('bandwatch_reseller_rate_bytes_per_second{isp="northwind",reseller="acme-net",direction="in"} 6250000');
    expect(text).toContain('bandwatch_rate_gaps_total{device="nw-edge-1",reason="overspeed"} 1');
    expect(text).toContain('bandwatch_interface_resets_total{device="nw-edge-1"} 1');
    expect(text).toContain('bandwatch_influx_points_dropped_total{reason="spool_full"} 10');
    // A VLAN in a gap has no rate sample at all (absence, not a fake zero).
    expect(text).not.toMatch(/bandwatch_vlan_rate_bytes_per_second\{[^}]*ifname="ether1.20"/);
    const promtool = spawnSync(requireBinary('promtool', 'prometheus'), ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: promtool.status, stdout: promtool.stdout, stderr: promtool.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('a real Prometheus scrapes /metrics and PromQL returns the reseller rate', async () => {
    prometheus = await startPrometheus({ scrapeTargets: [`127.0.0.1:${http.port}`] });
    const result = await waitFor(
      'reseller rate in prometheus',
      async () => {
        const r = await (prometheus as PrometheusServer).query('sum by (reseller) (bandwatch_reseller_rate_bytes_per_second{reseller="acme-net", direction="in"}) * 8');
        return r.length > 0 ? r : undefined;
      },
      30_000,
      250,
    );
    expect(result[0]?.metric.reseller).toBe('acme-net');
    expect(Number(result[0]?.value[1])).toBe(50e6);
    const util = await (prometheus as PrometheusServer).query('bandwatch_reseller_utilization_ratio{reseller="acme-net",direction="in"}');
    expect(Number(util[0]?.value[1])).toBe(0.25);
  });

  it('/healthz is 200 while healthy and 503 with reasons when not', async () => {
    const ok = await fetch(`http://127.0.0.1:${http.port}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'ok', devices: [{ device: 'nw-edge-1', lastPollAgeSeconds: 5, stale: false }] });
    health = evaluateHealth({
      nowWallMs: 100_000,
      startedWallMs: 0,
      pollIntervalSeconds: 10,
      devices: [{ device: 'nw-edge-1', lastSuccessWallMs: 10_000 }],
      spool: { bytes: 950, points: 40, maxBytes: 1000, failing: true, lastError: 'connect ECONNREFUSED' },
    });
    const bad = await fetch(`http://127.0.0.1:${http.port}/healthz`);
    expect(bad.status).toBe(503);
    const body = (await bad.json()) as HealthReport;
    expect(body.reasons).toHaveLength(2);
    expect(body.spool).toMatchObject({ points: 40, writingToInflux: false, lastError: 'connect ECONNREFUSED' });
  });
});
