import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { freeTcpPort, freeUdpPort, makeTempDir, waitFor } from '@bandwatch/core/testing';

/*
 * `npm start` is `bandwatch demo` on config.yaml. This runs exactly that
 * command on a copy of config.yaml and the demo profile whose ports are free
 * ones, and checks what a newcomer would look at: rates on /metrics, link
 * states in Postgres, the alerter answering, and a clean stop on Ctrl-C.
 */

const ROOT = new URL('../../', import.meta.url).pathname;
const dir = makeTempDir('demo-e2e');

async function demoFiles(): Promise<{ config: string; profile: string; ports: Record<string, number> }> {
  const ports = {
    postgres: await freeTcpPort(),
    influx: await freeTcpPort(),
    collector: await freeTcpPort(),
    alerter: await freeTcpPort(),
    api: await freeTcpPort(),
    control: await freeTcpPort(),
    nw: await freeUdpPort(),
    sg: await freeUdpPort(),
  };
  const cfg = parseDocument(readFileSync(join(ROOT, 'config.yaml'), 'utf8'));
  cfg.setIn(['postgres', 'url'], `postgres://postgres@127.0.0.1:${ports.postgres}/bandwatch`);
  cfg.setIn(['influx', 'url'], `http://127.0.0.1:${ports.influx}`);
  cfg.setIn(['influx', 'spool', 'dir'], join(dir, 'spool'));
  cfg.setIn(['collector', 'http', 'port'], ports.collector);
  cfg.setIn(['alerting', 'http', 'port'], ports.alerter);
  cfg.setIn(['api', 'port'], ports.api);
  cfg.setIn(['logging', 'format'], 'json');
  cfg.setIn(['inventory', 'isps', 0, 'devices', 0, 'port'], ports.nw);
  cfg.setIn(['inventory', 'isps', 1, 'devices', 0, 'port'], ports.sg);
  const prof = parseDocument(readFileSync(join(ROOT, 'simulator/profiles/demo.yaml'), 'utf8'));
  prof.setIn(['devices', 0, 'port'], ports.nw);
  prof.setIn(['devices', 1, 'port'], ports.sg);
  const config = join(dir, 'config.yaml');
  const profile = join(dir, 'demo-profile.yaml');
  writeFileSync(config, cfg.toString());
  writeFileSync(profile, prof.toString());
  return { config, profile, ports };
}

/** acme-net's inbound rate in bits/s from the collector's /metrics text (bytes/s there). */
function acmeInBps(metrics: string): number | undefined {
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith('bandwatch_reseller_rate_bytes_per_second{') && l.includes('reseller="acme-net"') && l.includes('direction="in"'));
  const value = line ? Number(line.split(' ').pop()) : NaN;
  return value > 0 ? value * 8 : undefined;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bandwatch demo (npm start)', () => {
  it('brings up the stack, shows reseller rates and link states, and stops cleanly on SIGINT', async () => {
    const { config, profile, ports } = await demoFiles();
    const child = spawn(
      process.execPath,
      [join(ROOT, 'cli/bin/bandwatch.mjs'), 'demo', '--config', config, '--profile', profile, '--control-port', String(ports.control), '--data-dir', join(dir, 'data')],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('demo running', () => output.includes('Bandwatch demo is running'), 90_000, 200);
      expect(output).toContain(`simulated router  nw-edge-1 on udp 127.0.0.1:${ports.nw}`);
      expect(output).toMatch(/inventory: 21 change\(s\)/);

      // Rates need two polls (10 s apart in config.yaml): the first sample gives no rate.
      const metrics = await waitFor(
        'reseller rates on /metrics',
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${ports.collector}/metrics`)).text();
          return acmeInBps(text) !== undefined ? text : undefined;
        },
        60_000,
        500,
      );
      // acme-net's VLAN starts at 120 Mbps in the demo profile: 15 MB/s.
      expect((acmeInBps(metrics) ?? 0) / 1e6).toBeGreaterThan(100);

      const health = await fetch(`http://127.0.0.1:${ports.alerter}/healthz`);
      expect(health.status).toBe(200);
      expect(output).toMatch(/link 127\.0\.1\.10 UNKNOWN → UP/);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(output).toContain('stopped postgres');
    expect(output).toContain('stopped influxdb');
  }, 180_000);
});
