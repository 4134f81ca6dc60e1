import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@bandwatch/core';
import { freeTcpPort, makeTempDir, requireBinary, startInflux, stopPid, waitFor, type InfluxServer } from '@bandwatch/core/testing';
import type { SeriesPoint } from '../contracts';
import { anyOf, ident, influxql } from './influxql';
import { InfluxQueryClient } from './influxQuery';
import { InfluxSeriesWriter, type InfluxWriterOptions } from './influxWriter';

const DB = 'bw_writer';

function baseOptions(over: Partial<InfluxWriterOptions>): InfluxWriterOptions {
  return {
    url: 'http://127.0.0.1:1',
    api: 'v1',
    database: DB,
    batchSize: 100,
    flushIntervalMs: 100,
    gzipThresholdBytes: 0,
    timeoutMs: 2000,
    retryInitialMs: 100,
    retryMaxMs: 1000,
    spoolDir: makeTempDir('spool'),
    spoolMaxBytes: 10 * 1024 * 1024,
    logger: silentLogger(),
    ...over,
  };
}

function vlanPoints(n: number, t0: number): SeriesPoint[] {
  return Array.from({ length: n }, (_, i) => ({
    measurement: 'vlan_rate',
    tags: { isp: 'northwind', reseller: i % 2 ? 'acme-net' : "o'brien net", device: 'nw-edge-1', ifname: `ether1.${i % 5}`, vlan: String(i % 5) },
    // 2^62 + i: above 2^53, so a float or parseInt anywhere would round it.
    fields: { in_bps: i * 1.5, out_bps: i * 2, in_octets: 2n ** 62n + BigInt(i), oper_status: 1n },
    timestampMs: t0 + i,
  }));
}

describe('InfluxSeriesWriter → InfluxDB 1.6 (/write)', () => {
  let influx: InfluxServer;
  beforeAll(async () => {
    influx = await startInflux({ database: DB });
  });
  afterAll(async () => {
    await influx?.stop();
  });

  it('batches (gzip on) and every point arrives with exact 64-bit integers and escaped tags', async () => {
    const writtenHook: number[] = [];
    const opts = baseOptions({ url: influx.url, hooks: { written: (n) => writtenHook.push(n) } });
    const writer = new InfluxSeriesWriter(opts);
    const t0 = Date.now() - 60_000;
    writer.write(vlanPoints(1000, t0));
    expect(await writer.drained(20_000)).toBe(true);
    await writer.close();
    const q = new InfluxQueryClient({ url: influx.url, database: DB });
    const [count] = await q.rows('SELECT count(in_bps) FROM vlan_rate');
    expect(count?.count).toBe(1000);
    // 1000 points / batch_size 100 = 10 requests.
    expect(writtenHook).toEqual(Array(10).fill(100));
    const types = await q.rows('SHOW FIELD KEYS FROM vlan_rate');
    expect(types).toContainEqual({ fieldKey: 'in_octets', fieldType: 'integer' });
    // JSON numbers cannot show 2^62 + i exactly, so subtract 2^62 inside InfluxDB (integer arithmetic).
    const rows = await q.rows(
      influxql`SELECT ${ident('in_octets')} - 4611686018427387904 AS d, ${ident('in_bps')} FROM ${ident('vlan_rate')} WHERE ${ident('reseller')} = ${"o'brien net"} AND ${ident('ifname')} = ${'ether1.4'}`,
    );
    const expected = Array.from({ length: 1000 }, (_, i) => i).filter((i) => i % 2 === 0 && i % 5 === 4);
    expect(rows.map((r) => r.d)).toEqual(expected);
    expect(rows.map((r) => r.in_bps)).toEqual(expected.map((i) => i * 1.5));
    rmSync(opts.spoolDir, { recursive: true, force: true });
  });

  it('the InfluxQL helper keeps a hostile tenant value a literal (no rows, no error, no injection)', async () => {
    const q = new InfluxQueryClient({ url: influx.url, database: DB });
    const hostile = "x' OR reseller =~ /.*/ OR reseller = 'y";
    const rows = await q.rows(influxql`SELECT count(in_bps) FROM vlan_rate WHERE ${anyOf('reseller', [hostile])}`);
    expect(rows).toEqual([]);
    const all = await q.rows(influxql`SELECT count(in_bps) FROM vlan_rate WHERE ${anyOf('reseller', ['acme-net'])}`);
    expect(all[0]?.count).toBe(500);
  });

  it('a batch InfluxDB rejects as invalid is dropped and counted, later batches still land', async () => {
    const dropped: Array<[number, string]> = [];
    const opts = baseOptions({ url: influx.url, batchSize: 1, hooks: { dropped: (n, r) => dropped.push([n, r]) } });
    const writer = new InfluxSeriesWriter(opts);
    const t = Date.now();
    // in_bps was a float field above; an integer now is a field type conflict (HTTP 400).
    writer.write([{ measurement: 'vlan_rate', tags: { reseller: 'conflict' }, fields: { in_bps: 5n }, timestampMs: t }]);
    writer.write([{ measurement: 'vlan_rate', tags: { reseller: 'conflict' }, fields: { in_bps: 5 }, timestampMs: t + 1 }]);
    expect(await writer.drained(20_000)).toBe(true);
    await writer.close();
    expect(dropped).toEqual([[1, 'rejected']]);
    const rows = await new InfluxQueryClient({ url: influx.url, database: DB }).rows(`SELECT in_bps FROM vlan_rate WHERE reseller = 'conflict'`);
    expect(rows.map((r) => r.time)).toEqual([t + 1]);
    rmSync(opts.spoolDir, { recursive: true, force: true });
  });
});

interface VictoriaMetrics {
  url: string;
  stop(): Promise<void>;
}

/** VictoriaMetrics single-node accepts /api/v2/write: the real v2 write path without an InfluxDB 2.x binary. */
async function startVictoriaMetrics(): Promise<VictoriaMetrics> {
  const bin = requireBinary('victoria-metrics', 'victoria-metrics');
  const dir = makeTempDir('vm');
  const port = await freeTcpPort();
  const child = spawn(bin, [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${join(dir, 'data')}`, '-search.latencyOffset=0s', '-loggerLevel=ERROR'], {
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('victoria-metrics /health', async () => (await fetch(`${url}/health`)).ok, 20_000);
  return {
    url,
    async stop() {
      await stopPid(child.pid as number, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('InfluxSeriesWriter → VictoriaMetrics (/api/v2/write)', () => {
  let vm: VictoriaMetrics;
  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  });
  afterAll(async () => {
    await vm?.stop();
  });

  it('writes through the v2 API with token, org, bucket and gzip', async () => {
    const opts = baseOptions({ url: vm.url, api: 'v2', database: undefined, org: 'bw', bucket: 'rates', token: 'not-checked-by-vm' });
    const writer = new InfluxSeriesWriter(opts);
    const t0 = Date.now() - 30_000;
    writer.write(vlanPoints(300, t0));
    expect(await writer.drained(20_000)).toBe(true);
    await writer.close();
    expect(writer.stats().writtenPoints).toBe(300);
    await fetch(`${vm.url}/internal/force_flush`);
    const samples = await waitFor(
      'points in victoria-metrics',
      async () => {
        const res = await fetch(`${vm.url}/api/v1/export?${new URLSearchParams({ 'match[]': '{__name__="vlan_rate_in_bps"}' })}`);
        const lines = (await res.text()).trim().split('\n').filter(Boolean);
        const series = lines.map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] });
        const n = series.reduce((k, s) => k + s.values.length, 0);
        return n === 300 ? series : undefined;
      },
      20_000,
      250,
    );
    // 2 resellers × 5 ifnames = 10 series (in_bps), 30 points each, values exact.
    expect(samples.length).toBe(10);
    const acme4 = samples.find((s) => s.metric.reseller === 'acme-net' && s.metric.ifname === 'ether1.3');
    expect(acme4?.timestamps[0]).toBe(t0 + 3);
    expect(acme4?.values[0]).toBe(4.5);
    rmSync(opts.spoolDir, { recursive: true, force: true });
  });
});
