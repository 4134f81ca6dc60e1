import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import snmp, { type Session, type Varbind } from 'net-snmp';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@bandwatch/core';
import { freeTcpPort } from '@bandwatch/core/testing';
import { parseProfile } from './profile';
import { runSimulator, startSimulator, type RunningSimulator } from './index';

/*
 * The simulator seen from outside, over real SNMP and its HTTP control API:
 * every fault must be observable with plain GETs, as the collector sees it.
 */

const OID = {
  sysUpTime: '1.3.6.1.2.1.1.3.0',
  ifName: '1.3.6.1.2.1.31.1.1.1.1',
  ifHCIn: '1.3.6.1.2.1.31.1.1.1.6',
  ifHCOut: '1.3.6.1.2.1.31.1.1.1.10',
  ifHighSpeed: '1.3.6.1.2.1.31.1.1.1.15',
  ifAlias: '1.3.6.1.2.1.31.1.1.1.18',
  disc: '1.3.6.1.2.1.31.1.1.1.19',
  ifOper: '1.3.6.1.2.1.2.2.1.8',
  ifIn32: '1.3.6.1.2.1.2.2.1.10',
};

const profile = parseProfile({
  devices: [
    {
      name: 'r1',
      port: 0,
      community: 'public',
      interfaces: [
        { name: 'ether1', alias: 'UPLINK', speed_mbps: 1000, in: { kind: 'constant', mbps: 400 } },
        { name: 'ether1.10', alias: 'acme', speed_mbps: 1000, in: { kind: 'constant', mbps: 100 } },
        { name: 'ether1.20', alias: 'bluesky', speed_mbps: 1000, in: { kind: 'constant', mbps: 50 }, out: { kind: 'constant', mbps: 5 } },
        { name: 'vlan30', alias: 'CEDAR', speed_mbps: 100, in: { kind: 'constant', mbps: 800 } },
      ],
    },
    {
      name: 'r2',
      port: 0,
      v3_users: [{ username: 'bw', auth_protocol: 'sha256', auth_password: 'auth-pass-1', priv_protocol: 'aes', priv_password: 'priv-pass-1' }],
      interfaces: [{ name: 'Gi0/0/1.100', alias: 'delta', speed_mbps: 1000, in: { kind: 'constant', mbps: 10 } }],
    },
  ],
});

let sim: RunningSimulator;
let v2: Session;
let v3: Session;

function get(session: Session, oids: string[]): Promise<Varbind[]> {
  return new Promise((resolve, reject) => session.get(oids, (err, vbs) => (err ? reject(err) : resolve(vbs))));
}

const big = (v: unknown): bigint => {
  if (typeof v === 'number') return BigInt(v);
  let x = 0n;
  for (const b of v as Buffer) x = (x << 8n) | BigInt(b);
  return x;
};

async function control(path: string, body?: unknown, method = 'POST'): Promise<unknown> {
  const res = await fetch(`${sim.controlUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as { ok?: boolean; error?: string };
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.error}`);
  return json;
}

/** Measures a counter's rate over `ms` with sysUpTime-independent wall timing. */
async function measureMbps(session: Session, oid: string, ms: number): Promise<number> {
  const t0 = performance.now();
  const [a] = await get(session, [oid]);
  const t0b = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const t1 = performance.now();
  const [b] = await get(session, [oid]);
  const t1b = performance.now();
  const seconds = ((t1 + t1b) / 2 - (t0 + t0b) / 2) / 1000;
  return (Number(big(b?.value) - big(a?.value)) * 8) / seconds / 1e6;
}

beforeAll(async () => {
  sim = await startSimulator(profile, { logger: silentLogger() });
  const r1 = sim.devices.find((d) => d.name === 'r1')!;
  const r2 = sim.devices.find((d) => d.name === 'r2')!;
  v2 = snmp.createSession('127.0.0.1', 'public', { port: r1.port, version: snmp.Version2c, timeout: 400, retries: 0 });
  v3 = snmp.createV3Session(
    '127.0.0.1',
    { name: 'bw', level: snmp.SecurityLevel.authPriv, authProtocol: snmp.AuthProtocols.sha256, authKey: 'auth-pass-1', privProtocol: snmp.PrivProtocols.aes, privKey: 'priv-pass-1' },
    { port: r2.port, version: snmp.Version3, timeout: 1000, retries: 0 },
  );
});

afterAll(async () => {
  v2?.close();
  v3?.close();
  await sim?.stop();
});

describe('simulated router', () => {
  it('serves the system group, ifTable and ifXTable over v2c', async () => {
    const vbs = await get(v2, [OID.sysUpTime, `${OID.ifName}.2`, `${OID.ifAlias}.2`, `${OID.ifHighSpeed}.4`, `${OID.ifOper}.2`, `${OID.ifHCIn}.2`, `${OID.disc}.2`]);
    expect(vbs.map((v) => v.type)).toEqual([
      snmp.ObjectType.TimeTicks,
      snmp.ObjectType.OctetString,
      snmp.ObjectType.OctetString,
      snmp.ObjectType.Gauge,
      snmp.ObjectType.Integer,
      snmp.ObjectType.Counter64,
      snmp.ObjectType.TimeTicks,
    ]);
    expect(String(vbs[1]?.value)).toBe('ether1.10');
    expect(String(vbs[2]?.value)).toBe('acme');
    expect(vbs[3]?.value).toBe(100);
    expect(vbs[4]?.value).toBe(1);
    expect((vbs[5]?.value as Buffer).length).toBe(8);
  });

  it('serves v3 authPriv (SHA-256/AES) users and ignores a wrong key', async () => {
    const [name] = await get(v3, [`${OID.ifName}.1`]);
    expect(String(name?.value)).toBe('Gi0/0/1.100');
    const bad = snmp.createV3Session(
      '127.0.0.1',
      { name: 'bw', level: snmp.SecurityLevel.authPriv, authProtocol: snmp.AuthProtocols.sha256, authKey: 'WRONG-pass-1', privProtocol: snmp.PrivProtocols.aes, privKey: 'priv-pass-1' },
      { port: sim.devices[1]!.port, version: snmp.Version3, timeout: 500, retries: 0 },
    );
    try {
      // net-snmp's JS agent drops a message with a wrong digest instead of
      // sending snmpd's usmStatsWrongDigests report, so the manager sees silence.
      await expect(get(bad, [OID.sysUpTime])).rejects.toThrow(/timed out/i);
    } finally {
      bad.close();
    }
  });

  it('advances counters in real time at the model rate (100 Mbps in, 25 Mbps out by default ratio)', async () => {
    const inMbps = await measureMbps(v2, `${OID.ifHCIn}.2`, 1000);
    const outMbps = await measureMbps(v2, `${OID.ifHCOut}.2`, 1000);
    expect(inMbps).toBeGreaterThan(97);
    expect(inMbps).toBeLessThan(103);
    expect(outMbps).toBeGreaterThan(24);
    expect(outMbps).toBeLessThan(26);
  });

  it('sets an interface to 85 % of 200 Mbps at run time, counters continuing', async () => {
    const [before] = await get(v2, [`${OID.ifHCIn}.3`]);
    await control(`/devices/r1/interfaces/${encodeURIComponent('ether1.20')}/model`, { in: { kind: 'constant', mbps: 170 } }, 'PUT');
    const [after] = await get(v2, [`${OID.ifHCIn}.3`]);
    expect(big(after?.value)).toBeGreaterThanOrEqual(big(before?.value));
    const mbps = await measureMbps(v2, `${OID.ifHCIn}.3`, 1000);
    expect(mbps).toBeGreaterThan(165);
    expect(mbps).toBeLessThan(175);
    // An explicit out model stays as it was.
    const out = await measureMbps(v2, `${OID.ifHCOut}.3`, 500);
    expect(out).toBeGreaterThan(4.5);
    expect(out).toBeLessThan(5.5);
  });

  it('counter reset: HC counters restart from 0 and ifCounterDiscontinuityTime moves', async () => {
    const [c0, d0] = await get(v2, [`${OID.ifHCIn}.1`, `${OID.disc}.1`]);
    expect(big(c0?.value)).toBeGreaterThan(10_000_000n);
    expect(d0?.value).toBe(0);
    await control('/devices/r1/reset-counters', { interfaces: ['ether1'] });
    const [c1, d1, up, other] = await get(v2, [`${OID.ifHCIn}.1`, `${OID.disc}.1`, OID.sysUpTime, `${OID.ifHCIn}.2`]);
    expect(big(c1?.value)).toBeLessThan(big(c0?.value));
    expect(d1?.value as number).toBeGreaterThan(0);
    expect(d1?.value as number).toBeLessThanOrEqual(up?.value as number);
    expect(big(other?.value)).toBeGreaterThan(10_000_000n);
  });

  it('interface down: ifOperStatus 2 and counters stop; up again: they move', async () => {
    await control(`/devices/r1/interfaces/ether1.10/down`);
    const [o, a] = await get(v2, [`${OID.ifOper}.2`, `${OID.ifHCIn}.2`]);
    await new Promise((r) => setTimeout(r, 300));
    const [b] = await get(v2, [`${OID.ifHCIn}.2`]);
    expect(o?.value).toBe(2);
    expect(big(b?.value)).toBe(big(a?.value));
    await control(`/devices/r1/interfaces/ether1.10/up`);
    await new Promise((r) => setTimeout(r, 300));
    const [o2, c] = await get(v2, [`${OID.ifOper}.2`, `${OID.ifHCIn}.2`]);
    expect(o2?.value).toBe(1);
    expect(big(c?.value)).toBeGreaterThan(big(b?.value));
  });

  it('32-bit wrap: ifInOctets goes near 2^32, then wraps to a small value while HC counters carry on', async () => {
    await control('/devices/r1/interfaces/vlan30/wrap32', { seconds_before_wrap: 0.5 });
    const [a, hcA] = await get(v2, [`${OID.ifIn32}.4`, `${OID.ifHCIn}.4`]);
    expect(a?.value as number).toBeGreaterThan(2 ** 32 - 100_000_000);
    await new Promise((r) => setTimeout(r, 1000));
    const [b, hcB] = await get(v2, [`${OID.ifIn32}.4`, `${OID.ifHCIn}.4`]);
    expect(b?.value as number).toBeLessThan(a?.value as number);
    // The wrapped delta equals the HC delta: (b - a) mod 2^32 == hcB - hcA.
    const wrapped = (BigInt(b?.value as number) - BigInt(a?.value as number) + 2n ** 32n) % 2n ** 32n;
    expect(wrapped).toBe(big(hcB?.value) - big(hcA?.value));
  });

  it('slow responses: each answer is delayed by delay_ms', async () => {
    await control('/devices/r1/faults', { delay_ms: 250 });
    const t0 = performance.now();
    await get(v2, [OID.sysUpTime]);
    const slow = performance.now() - t0;
    await control('/devices/r1/heal');
    const t1 = performance.now();
    await get(v2, [OID.sysUpTime]);
    const fast = performance.now() - t1;
    expect(slow).toBeGreaterThanOrEqual(245);
    expect(fast).toBeLessThan(100);
  });

  it('small max message size: a response with more varbinds than allowed is tooBig', async () => {
    await control('/devices/r1/faults', { max_response_varbinds: 3 });
    try {
      const ok = await get(v2, [OID.sysUpTime, `${OID.ifName}.2`, `${OID.ifName}.3`]);
      expect(ok).toHaveLength(3);
      await expect(get(v2, [OID.sysUpTime, `${OID.ifName}.2`, `${OID.ifName}.3`, `${OID.ifName}.4`])).rejects.toMatchObject({ status: snmp.ErrorStatus.TooBig });
    } finally {
      await control('/devices/r1/heal');
    }
    expect(await get(v2, [OID.sysUpTime, `${OID.ifName}.2`, `${OID.ifName}.3`, `${OID.ifName}.4`])).toHaveLength(4);
  });

  it('no responses: requests time out until healed; the other device keeps answering', async () => {
    await control('/devices/r1/faults', { silent: true });
    await expect(get(v2, [OID.sysUpTime])).rejects.toThrow(/timed out/i);
    const [other] = await get(v3, [OID.sysUpTime]);
    expect(other?.value as number).toBeGreaterThanOrEqual(0);
    await control('/devices/r1/heal');
    const [up] = await get(v2, [OID.sysUpTime]);
    expect(up?.value as number).toBeGreaterThan(0);
  });

  it('renumbering: the same names answer at new ifIndexes, the old ones are gone, counters continue', async () => {
    const [c0] = await get(v2, [`${OID.ifHCIn}.1`]);
    const res = (await control('/devices/r1/renumber', { offset: 100 })) as { moves: Array<{ name: string; from: number; to: number }> };
    expect(res.moves.find((m) => m.name === 'ether1')).toEqual({ name: 'ether1', from: 1, to: 101 });
    const [gone, name, c1] = await get(v2, [`${OID.ifName}.1`, `${OID.ifName}.101`, `${OID.ifHCIn}.101`]);
    expect(gone?.type).toBe(snmp.ObjectType.NoSuchInstance);
    expect(String(name?.value)).toBe('ether1');
    expect(big(c1?.value)).toBeGreaterThanOrEqual(big(c0?.value));
  });

  it('reboot: sysUpTime goes back to ~0 and every counter restarts', async () => {
    await new Promise((r) => setTimeout(r, 200));
    const [u0, c0] = await get(v2, [OID.sysUpTime, `${OID.ifHCIn}.102`]);
    await control('/devices/r1/reboot');
    const [u1, c1, d1] = await get(v2, [OID.sysUpTime, `${OID.ifHCIn}.102`, `${OID.disc}.102`]);
    expect(u1?.value as number).toBeLessThan(u0?.value as number);
    expect(u1?.value as number).toBeLessThan(50);
    expect(big(c1?.value)).toBeLessThan(big(c0?.value));
    expect(d1?.value).toBe(0);
  });

  it('the control API names unknown devices and interfaces', async () => {
    await expect(control('/devices/nope/reboot')).rejects.toThrow(/404.*nope/);
    await expect(control('/devices/r1/interfaces/ether9/down')).rejects.toThrow(/404.*ether9/);
    await expect(control('/devices/r1/faults', { delay_ms: -1 })).rejects.toThrow(/400/);
  });
});

describe('scale', () => {
  it('starts a router with 10,000 interfaces and answers for the last one', async () => {
    const big10k = await startSimulator(parseProfile({ devices: [{ name: 'big', port: 0, community: 'public', generate: { count: 10000, name_template: 'ether2.{n}', speed_mbps: 100 } }] }), {
      logger: silentLogger(),
    });
    const s = snmp.createSession('127.0.0.1', 'public', { port: big10k.devices[0]!.port, version: snmp.Version2c, timeout: 2000, retries: 0 });
    try {
      const [n, c, hs] = await get(s, [`${OID.ifName}.10000`, `${OID.ifHCIn}.10000`, `${OID.ifHighSpeed}.10000`]);
      expect(String(n?.value)).toBe('ether2.10000');
      expect(c?.type).toBe(snmp.ObjectType.Counter64);
      expect(hs?.value).toBe(100);
      // A full walk with the real snmpbulkwalk sees every row once, in order,
      // and ends at the column's end (the simulator's own GETNEXT index).
      const walked = await new Promise<string>((resolve, reject) => {
        const c = spawn('snmpbulkwalk', ['-v2c', '-c', 'public', '-Cr50', '-On', '-Oq', '-m', '', `127.0.0.1:${big10k.devices[0]!.port}`, OID.ifName], { env: { ...process.env, MIBS: '' } });
        let out = '';
        c.stdout.on('data', (b: Buffer) => (out += b.toString()));
        c.on('error', reject);
        c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`snmpbulkwalk exited ${code}`))));
      });
      const rows = walked.trim().split('\n');
      expect(rows).toHaveLength(10000);
      expect(rows[0]).toBe(`.${OID.ifName}.1 "ether2.1"`);
      expect(rows[9999]).toBe(`.${OID.ifName}.10000 "ether2.10000"`);
      expect(rows.map((r) => Number(r.split(' ')[0]?.split('.').pop()))).toEqual(Array.from({ length: 10000 }, (_v, i) => i + 1));
    } finally {
      s.close();
      await big10k.stop();
    }
  });
});

describe('runSimulator', () => {
  it('runs a profile file until the signal aborts, then releases its ports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bandwatch-sim-'));
    const file = join(dir, 'profile.yaml');
    writeFileSync(file, 'devices:\n  - name: solo\n    port: 0\n    community: public\n    interfaces: [{ name: ether1.10, speed_mbps: 100 }]\n');
    const controlPort = await freeTcpPort();
    const abort = new AbortController();
    const running = runSimulator({ profileFile: file, controlPort, logger: silentLogger(), signal: abort.signal });
    try {
      const devices = await (async () => {
        for (let i = 0; i < 100; i++) {
          try {
            return (await (await fetch(`http://127.0.0.1:${controlPort}/devices`)).json()) as Array<{ name: string; port: number; interfaces: number }>;
          } catch {
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        throw new Error('control API never came up');
      })();
      expect(devices).toEqual([{ name: 'solo', port: expect.any(Number), interfaces: 1 }]);
    } finally {
      abort.abort();
      await running;
      rmSync(dir, { recursive: true, force: true });
    }
    await expect(fetch(`http://127.0.0.1:${controlPort}/devices`)).rejects.toThrow();
  });

  it('a broken profile file fails with the path of the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bandwatch-sim-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'devices:\n  - name: x\n    port: 70000\n    community: public\n');
    try {
      await expect(runSimulator({ profileFile: file, logger: silentLogger(), signal: new AbortController().signal })).rejects.toThrow(/devices\[0\]\.port/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
