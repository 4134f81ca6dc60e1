import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KindedError, Secret, silentLogger, type SnmpAuthConfig } from '@bandwatch/core';
import { startSnmpd, type SnmpdServer } from '@bandwatch/core/testing';
import { discoverInterfaces } from './discovery';
import { OIDS } from './oids';
import { SnmpErrorCounts, SnmpSessionPool, toNumber, toText } from './snmpClient';
import { snmpTestConfig } from './testing/snmpConfig';

/*
 * The SNMP client against the real net-snmp snmpd: v2c, every v3 security
 * level with several auth/priv protocols, and the error kinds operators see
 * (wrong key → auth, wrong community → timeout, missing OID → marked varbind).
 */

const USERS = [
  { name: 'u_noauth', level: 'noAuthNoPriv', auth: 'sha', priv: 'aes', line: 'createUser u_noauth', access: 'rouser u_noauth noauth' },
  { name: 'u_md5', level: 'authNoPriv', auth: 'md5', priv: 'aes', line: 'createUser u_md5 MD5 "md5authpass"', access: 'rouser u_md5 auth' },
  { name: 'u_sha256', level: 'authPriv', auth: 'sha256', priv: 'aes', line: 'createUser u_sha256 SHA-256 "sha256authpass" AES "aesprivpass"', access: 'rouser u_sha256 priv' },
  { name: 'u_sha512', level: 'authPriv', auth: 'sha512', priv: 'aes', line: 'createUser u_sha512 SHA-512 "sha512authpass" AES "aesprivpass"', access: 'rouser u_sha512 priv' },
] as const;

const PASSWORDS: Record<string, { auth: string; priv: string }> = {
  u_noauth: { auth: 'unusedpass', priv: 'unusedpass' },
  u_md5: { auth: 'md5authpass', priv: 'unusedpass' },
  u_sha256: { auth: 'sha256authpass', priv: 'aesprivpass' },
  u_sha512: { auth: 'sha512authpass', priv: 'aesprivpass' },
};

let snmpd: SnmpdServer;

function v3(user: string, level: SnmpAuthConfig['security_level'], auth: SnmpAuthConfig['auth_protocol'], priv: SnmpAuthConfig['priv_protocol'], authPass: string, privPass: string): SnmpAuthConfig {
  return { version: '3', username: user, security_level: level, auth_protocol: auth, auth_password: new Secret(authPass), priv_protocol: priv, priv_password: new Secret(privPass) };
}

const snmpConfig = snmpTestConfig;

beforeAll(async () => {
  snmpd = await startSnmpd({ extraConfig: USERS.flatMap((u) => [u.line, u.access]) });
});

afterAll(async () => {
  await snmpd?.stop();
});

describe('SnmpClient against snmpd', () => {
  it('v2c: GET sysUpTime and ifName of lo, and walks the interface table with GETBULK', async () => {
    const pool = new SnmpSessionPool(snmpConfig({ v2: { version: '2c', community: new Secret('public'), security_level: 'authPriv', auth_protocol: 'sha', priv_protocol: 'aes' } }), { logger: silentLogger() });
    try {
      const client = pool.clientFor({ name: 'snmpd', host: '127.0.0.1', port: snmpd.port, authRef: 'v2' });
      expect(pool.clientFor({ name: 'snmpd', host: '127.0.0.1', port: snmpd.port, authRef: 'v2' })).toBe(client);
      const [up] = await client.get([OIDS.sysUpTime0]);
      expect(up?.problem).toBeUndefined();
      expect(toNumber(up?.value)).toBeGreaterThanOrEqual(0);
      const d = await discoverInterfaces(client, 25);
      expect(d.hasIfXTable).toBe(true);
      const lo = d.interfaces.find((i) => i.ifName === 'lo');
      expect(lo).toBeDefined();
      expect(lo?.operStatus).toBe(1);
      const [name] = await client.get([`${OIDS.ifName}.${lo?.ifIndex}`]);
      expect(toText(name?.value)).toBe('lo');
    } finally {
      pool.close();
    }
  });

  it('v3 authPriv SHA/AES (the harness user) works', async () => {
    const pool = new SnmpSessionPool(snmpConfig({ v3: v3(snmpd.v3.user, 'authPriv', 'sha', 'aes', snmpd.v3.authPassword, snmpd.v3.privPassword) }), { logger: silentLogger() });
    try {
      const client = pool.clientFor({ name: 'snmpd', host: '127.0.0.1', port: snmpd.port, authRef: 'v3' });
      const vbs = await client.get([OIDS.sysUpTime0, `${OIDS.ifDescr}.1`]);
      expect(vbs.every((v) => v.problem === undefined)).toBe(true);
      expect(toText(vbs[1]?.value)).toBe('lo');
    } finally {
      pool.close();
    }
  });

  it.each(USERS.map((u) => [u.name, u.level, u.auth, u.priv] as const))('v3 %s (%s, %s/%s) reads sysUpTime', async (name, level, auth, priv) => {
    const p = PASSWORDS[name] as { auth: string; priv: string };
    const pool = new SnmpSessionPool(snmpConfig({ v3: v3(name, level, auth, priv, p.auth, p.priv) }), { logger: silentLogger() });
    try {
      const [up] = await pool.clientFor({ name: 'snmpd', host: '127.0.0.1', port: snmpd.port, authRef: 'v3' }).get([OIDS.sysUpTime0]);
      expect(up?.problem).toBeUndefined();
      expect(toNumber(up?.value)).toBeGreaterThanOrEqual(0);
    } finally {
      pool.close();
    }
  });

  it.each([
    ['wrong auth key', 'authPassWRONG', 'privpass123'],
    ['wrong priv key', 'authpass123', 'privPassWRONG'],
  ])('v3 with a %s is an auth error, counted for the device', async (_label, authPass, privPass) => {
    const stats = new SnmpErrorCounts();
    // The right auth key but a wrong priv key decrypts to garbage on the agent,
    // which then stays silent or reports a decryption error; our kind must
    // not be "timeout" for the wrong auth key, which the agent reports.
    const pool = new SnmpSessionPool(snmpConfig({ v3: v3(snmpd.v3.user, 'authPriv', 'sha', 'aes', authPass, privPass) }), { logger: silentLogger(), stats });
    try {
      const client = pool.clientFor({ name: 'snmpd', host: '127.0.0.1', port: snmpd.port, authRef: 'v3' });
      const err = await client.get([OIDS.sysUpTime0]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(KindedError);
      if (authPass === 'authPassWRONG') {
        expect((err as KindedError).kind).toBe('auth');
        expect(stats.count('snmpd', 'auth')).toBe(1);
      } else {
        expect(['auth', 'timeout']).toContain((err as KindedError).kind);
        expect(stats.count('snmpd', (err as KindedError).kind)).toBe(1);
      }
      expect((err as KindedError).message).toContain('device snmpd');
    } finally {
      pool.close();
    }
  });

  it('an unknown v3 user is an auth error', async () => {
    const pool = new SnmpSessionPool(snmpConfig({ v3: v3('nobody', 'authPriv', 'sha', 'aes', 'whatever123', 'whatever123') }), { logger: silentLogger() });
    try {
      const err = await pool.clientFor({ name: 'snmpd', host: '127.0.0.1', port: snmpd.port, authRef: 'v3' }).get([OIDS.sysUpTime0]).catch((e: unknown) => e);
      expect((err as KindedError).kind).toBe('auth');
    } finally {
      pool.close();
    }
  });

  it('a wrong v2c community is a timeout (the agent stays silent)', async () => {
    const stats = new SnmpErrorCounts();
    const pool = new SnmpSessionPool(snmpConfig({ v2: { version: '2c', community: new Secret('not-public'), security_level: 'authPriv', auth_protocol: 'sha', priv_protocol: 'aes' } }), {
      logger: silentLogger(),
      stats,
    });
    try {
      const err = await pool.clientFor({ name: 'snmpd', host: '127.0.0.1', port: snmpd.port, authRef: 'v2' }).get([OIDS.sysUpTime0]).catch((e: unknown) => e);
      expect((err as KindedError).kind).toBe('timeout');
      expect(stats.count('snmpd', 'timeout')).toBe(1);
    } finally {
      pool.close();
    }
  });

  it('marks and counts noSuchObject / noSuchInstance varbinds instead of passing them on as values', async () => {
    const stats = new SnmpErrorCounts();
    const pool = new SnmpSessionPool(snmpConfig({ v2: { version: '2c', community: new Secret('public'), security_level: 'authPriv', auth_protocol: 'sha', priv_protocol: 'aes' } }), { logger: silentLogger(), stats });
    try {
      const vbs = await pool
        .clientFor({ name: 'snmpd', host: '127.0.0.1', port: snmpd.port, authRef: 'v2' })
        .get([OIDS.sysUpTime0, `${OIDS.ifHCInOctets}.999999`, '1.3.6.1.4.1.99999.1.0']);
      expect(vbs[0]?.problem).toBeUndefined();
      expect(vbs[1]?.problem).toBe('noSuchInstance');
      expect(vbs[2]?.problem).toBe('noSuchObject');
      expect(vbs[1]?.value).toBeNull();
      expect(stats.varbindProblems.get('snmpd')).toBe(2);
    } finally {
      pool.close();
    }
  });
});
