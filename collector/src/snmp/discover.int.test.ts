import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, silentLogger } from '@bandwatch/core';
import { loadProfile, startSimulator, type RunningSimulator } from '@bandwatch/simulator';
import { DISCOVER_EXIT, runDiscover } from './discover';

/*
 * `bandwatch discover` on the demo: config.yaml's inventory against the demo
 * profile's routers (on free ports), plus a rule set with mistakes in it.
 */

const root = fileURLToPath(new URL('../../..', import.meta.url));
let sim: RunningSimulator;
let configText: string;

beforeAll(async () => {
  const profile = loadProfile(`${root}simulator/profiles/demo.yaml`);
  for (const d of profile.devices) d.port = 0;
  sim = await startSimulator(profile, { logger: silentLogger() });
  const port = (n: string) => sim.devices.find((d) => d.name === n)!.port;
  configText = readFileSync(`${root}config.yaml`, 'utf8').replace('port: 16101', `port: ${port('nw-edge-1')}`).replace('port: 16102', `port: ${port('sg-core-1')}`);
});

afterAll(async () => {
  await sim?.stop();
});

async function discover(text: string, device: string): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runDiscover(parseConfig(text, 'config.yaml', {}), { device }, (l) => lines.push(l));
  return { code, out: lines.join('\n') };
}

describe('runDiscover', () => {
  it('prints the v2c router interfaces and binds every demo rule exactly once', async () => {
    const { code, out } = await discover(configText, 'nw-edge-1');
    expect(code).toBe(DISCOVER_EXIT.ok);
    expect(out).toMatch(/^2\s+ether1\.10\s+acme-net VLAN 10\s+1000 Mbps\s+up\s+acme-net$/m);
    expect(out).toMatch(/^4\s+ether1\.30\s+CEDAR primary\s+1000 Mbps\s+up\s+cedar-link$/m);
    expect(out).toMatch(/^bluesky-isp\s+vlan_id 20\s+ifIndex 3 ether1\.20\s+ok$/m);
    expect(out).toContain('all 4 rule(s) bind to exactly one interface');
  });

  it('walks the v3 router', async () => {
    const { code, out } = await discover(configText, 'sg-core-1');
    expect(code).toBe(DISCOVER_EXIT.ok);
    expect(out).toMatch(/^echo-broadband\s+vlan_id 200\s+ifIndex 4 Gi0\/0\/1\.200\s+ok$/m);
  });

  it('reports rules that match no interface or several, with exit code 1', async () => {
    const broken = configText.replace('if_name: ether1.31', 'if_name: ether1.99').replace('if_alias_regex: "^CEDAR"', 'if_alias_regex: "^(CEDAR|cedar)"');
    const { code, out } = await discover(broken, 'nw-edge-1');
    expect(code).toBe(DISCOVER_EXIT.bindingErrors);
    expect(out).toMatch(/cedar-link\s+if_name "ether1\.99"\s+-\s+ERROR no_match: if_name "ether1\.99" matches no interface/);
    expect(out).toMatch(/ERROR ambiguous: .* matches 2 interfaces \(ether1\.30#4, ether1\.31#5\)/);
    expect(out).toContain('2 of 4 rule(s) do not bind to exactly one interface');
  });

  it('names the known devices for an unknown one, and reports an unreachable device as an SNMP failure', async () => {
    const unknown = await discover(configText, 'nope');
    expect(unknown.code).toBe(DISCOVER_EXIT.unknownDevice);
    expect(unknown.out).toContain('nw-edge-1, sg-core-1');
    await fetch(`${sim.controlUrl}/devices/nw-edge-1/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"silent":true}' });
    try {
      const dead = await discover(configText.replace('timeout_ms: 2000', 'timeout_ms: 300').replace('retries: 1', 'retries: 0'), 'nw-edge-1');
      expect(dead.code).toBe(DISCOVER_EXIT.snmpFailed);
      expect(dead.out).toMatch(/discovery failed \[timeout\]/);
    } finally {
      await fetch(`${sim.controlUrl}/devices/nw-edge-1/heal`, { method: 'POST' });
    }
  });
});
