import dgram from 'node:dgram';
import { once } from 'node:events';
import snmp from 'net-snmp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KindedError, Secret, silentLogger, type Config, type SnmpAuthConfig } from '@bandwatch/core';
import { startSnmpd, waitFor, type SnmpdServer } from '@bandwatch/core/testing';
import { parseProfile, startSimulator, type RunningSimulator, type SimDevice } from '@bandwatch/simulator';
import { MIN_REQUEST_ID, encodeGetTemplate, requestMessage, responseRequestId } from './fastGet';
import { FastGetChannel } from './fastGetChannel';
import { OIDS } from './oids';
import { SnmpSessionPool, isTooBig, toBigInt, toNumber, type SnmpStats, type SnmpVarbind } from './snmpClient';
import { bytesValue, getResponse, intValue, startSnmpLoopback, type SnmpLoopback } from './testing/snmpLoopback';
import { snmpTestConfig } from './testing/snmpConfig';

/*
 * The fast GET path against real agents (the simulator and net-snmp's snmpd):
 * for the same GET list it must return what the net-snmp path returns, fail
 * with the same error kinds and report the same stats events. A loopback
 * socket scripts what no real agent does on demand (late, duplicate and
 * foreign datagrams).
 */

const V2 = (community = 'public'): SnmpAuthConfig => ({ version: '2c', community: new Secret(community), security_level: 'authPriv', auth_protocol: 'sha', priv_protocol: 'aes' });

function snmpConfig(fastGet: boolean, auths: Record<string, SnmpAuthConfig>, overrides: Partial<Config['snmp']> = {}): Config['snmp'] {
  return snmpTestConfig(auths, { timeout_ms: 1000, fast_get: fastGet, ...overrides });
}

/** Every stats event as text (durations left out), in order. */
class RecordedStats implements SnmpStats {
  readonly events: string[] = [];
  onResponse(device: string, pdu: string, varbinds: number): void {
    this.events.push(`response ${device} ${pdu} ${varbinds}`);
  }
  onError(device: string, kind: string): void {
    this.events.push(`error ${device} ${kind}`);
  }
  onVarbindProblem(device: string, problem: string, oid: string): void {
    this.events.push(`problem ${device} ${problem} ${oid}`);
  }
}

interface Outcome {
  varbinds?: SnmpVarbind[];
  err?: KindedError;
  events: string[];
}

/** One GET through a fresh pool with fast_get on or off. */
async function getVia(fastGet: boolean, target: { port: number; auth?: SnmpAuthConfig }, oids: string[], overrides: Partial<Config['snmp']> = {}): Promise<Outcome> {
  const stats = new RecordedStats();
  const pool = new SnmpSessionPool(snmpConfig(fastGet, { a: target.auth ?? V2() }, overrides), { logger: silentLogger(), stats });
  try {
    const varbinds = await pool.clientFor({ name: 'dev', host: '127.0.0.1', port: target.port, authRef: 'a' }).get(oids);
    return { varbinds, events: stats.events };
  } catch (err) {
    return { err: err as KindedError, events: stats.events };
  } finally {
    pool.close();
  }
}

/** The same GET through both paths: net-snmp first, then the fast path. */
async function bothPaths(target: { port: number; auth?: SnmpAuthConfig }, oids: string[], overrides: Partial<Config['snmp']> = {}): Promise<{ net: Outcome; fast: Outcome }> {
  const net = await getVia(false, target, oids, overrides);
  const fast = await getVia(true, target, oids, overrides);
  return { net, fast };
}

describe('fast GET against the simulator', () => {
  let sim: RunningSimulator;
  let edge: SimDevice;
  const port = (name: string) => sim.devices.find((d) => d.name === name)?.port as number;

  beforeAll(async () => {
    sim = await startSimulator(
      parseProfile({
        devices: [
          {
            name: 'edge',
            port: 0,
            community: 'public',
            interfaces: [
              { name: 'ether1.10', alias: 'cust a', speed_mbps: 1000, in: { kind: 'constant', mbps: 800 } },
              { name: 'ether1.11', alias: 'cust b', speed_mbps: 10000, in: { kind: 'constant', mbps: 5000 } },
            ],
          },
          { name: 'core', port: 0, v3_users: [{ username: 'bw', auth_password: 'auth-pass-1', priv_password: 'priv-pass-1' }], interfaces: [{ name: 'Gi0/0/1.100', speed_mbps: 1000 }] },
        ],
      }),
      { logger: silentLogger() },
    );
    edge = sim.simDevices.find((d) => d.name === 'edge') as SimDevice;
    // Freeze ether1.11 with traffic on its counters, its 32-bit counters
    // above 2^31 and a discontinuity time: every value of that interface then
    // reads the same twice, none of them 0.
    await waitFor('traffic on ether1.11 and sysUpTime > 0', () => edge.counters('ether1.11').inOctets > 0n && edge.sysUpTimeTicks() > 0, 5000);
    edge.setOperStatus('ether1.11', false);
    edge.wrap32('ether1.11');
  });

  afterAll(async () => {
    await sim?.stop();
  });

  const STABLE = [
    '1.3.6.1.2.1.1.1.0', // sysDescr: OctetString
    '1.3.6.1.2.1.1.2.0', // sysObjectID: OID
    '1.3.6.1.2.1.1.5.0', // sysName
    '1.3.6.1.2.1.2.1.0', // ifNumber: Integer
    `${OIDS.ifDescr}.2`,
    `${OIDS.ifSpeed}.2`, // Gauge32
    `${OIDS.ifOperStatus}.2`,
    `${OIDS.ifInOctets}.2`, // Counter32 above 2^31
    `${OIDS.ifOutOctets}.2`,
    `${OIDS.ifHCInOctets}.2`, // Counter64
    `${OIDS.ifHCOutOctets}.2`,
    `${OIDS.ifHighSpeed}.2`,
    `${OIDS.ifName}.2`,
    `${OIDS.ifCounterDiscontinuityTime}.2`, // TimeTicks
    `${OIDS.ifHCInOctets}.99`, // no such row: noSuchInstance
    '1.3.6.1.2.1.31.1.1.1.99.2', // no such column
  ];

  it('returns exactly the varbinds and stats events of the net-snmp path, missing instances included', async () => {
    const { net, fast } = await bothPaths({ port: port('edge') }, STABLE);
    expect(net.err).toBeUndefined();
    expect(fast.err).toBeUndefined();
    expect(fast.varbinds).toEqual(net.varbinds);
    expect(fast.events).toEqual(net.events);
    // The fixture really covers what it claims.
    const vbs = fast.varbinds as SnmpVarbind[];
    const T = snmp.ObjectType;
    expect(vbs.map((v) => v.type)).toEqual([T.OctetString, T.OID, T.OctetString, T.Integer, T.OctetString, T.Gauge, T.Integer, T.Counter, T.Counter, T.Counter64, T.Counter64, T.Gauge, T.OctetString, T.TimeTicks, T.NoSuchInstance, vbs[15]?.type]);
    expect(vbs[14]?.problem).toBe('noSuchInstance');
    expect(['noSuchObject', 'noSuchInstance']).toContain(vbs[15]?.problem);
    expect(toNumber(vbs[7]?.value)).toBeGreaterThan(2 ** 31);
    expect(toBigInt(vbs[9]?.value)).toBe(edge.counters('ether1.11').inOctets);
    expect(toNumber(vbs[13]?.value)).toBeGreaterThan(0);
    expect(fast.events.filter((e) => e.startsWith('problem'))).toHaveLength(2);
  });

  it('reads moving counters and sysUpTime as the same types, never behind what net-snmp read just before', async () => {
    const oids = [OIDS.sysUpTime0, `${OIDS.ifHCInOctets}.1`, `${OIDS.ifHCOutOctets}.1`, `${OIDS.ifInOctets}.1`];
    const { net, fast } = await bothPaths({ port: port('edge') }, oids);
    const a = net.varbinds as SnmpVarbind[];
    const b = fast.varbinds as SnmpVarbind[];
    expect(b.map((v) => [v.oid, v.type])).toEqual(a.map((v) => [v.oid, v.type]));
    expect(toNumber(b[0]?.value)).toBeGreaterThanOrEqual(toNumber(a[0]?.value));
    expect(toBigInt(b[1]?.value)).toBeGreaterThanOrEqual(toBigInt(a[1]?.value));
    expect(toBigInt(b[2]?.value)).toBeGreaterThanOrEqual(toBigInt(a[2]?.value));
    expect(Buffer.isBuffer(b[1]?.value)).toBe(true);
    expect(typeof b[3]?.value).toBe('number');
  });

  it('a tooBig from the agent is isTooBig and an agent error, counted like net-snmp', async () => {
    edge.faults.maxResponseVarbinds = 3;
    try {
      const { net, fast } = await bothPaths({ port: port('edge') }, STABLE.slice(0, 5));
      expect(isTooBig(net.err)).toBe(true);
      expect(isTooBig(fast.err)).toBe(true);
      expect(fast.err?.kind).toBe('agent');
      expect(fast.events).toEqual(net.events);
      expect(fast.events).toEqual(['error dev agent']);
    } finally {
      edge.faults.maxResponseVarbinds = 0;
    }
  });

  it('a silent agent is a timeout after the retries, each try a datagram, like net-snmp', async () => {
    edge.faults.silent = true;
    try {
      const before = edge.faultHits.dropped;
      const net = await getVia(false, { port: port('edge') }, [OIDS.sysUpTime0], { timeout_ms: 150, retries: 2 });
      const afterNet = edge.faultHits.dropped;
      const fast = await getVia(true, { port: port('edge') }, [OIDS.sysUpTime0], { timeout_ms: 150, retries: 2 });
      expect(afterNet - before).toBe(3);
      expect(edge.faultHits.dropped - afterNet).toBe(3);
      expect(fast.err?.kind).toBe('timeout');
      expect(fast.err?.cause).toBeInstanceOf(snmp.RequestTimedOutError);
      expect(fast.err?.message).toContain('device dev');
      expect(fast.events).toEqual(net.events);
    } finally {
      edge.faults.silent = false;
    }
  });

  it('a v3 device keeps using net-snmp with fast_get on', async () => {
    const auth: SnmpAuthConfig = { version: '3', username: 'bw', security_level: 'authPriv', auth_protocol: 'sha', auth_password: new Secret('auth-pass-1'), priv_protocol: 'aes', priv_password: new Secret('priv-pass-1') };
    const fast = await getVia(true, { port: port('core'), auth }, [OIDS.sysUpTime0, `${OIDS.ifName}.1`]);
    expect(fast.err).toBeUndefined();
    expect(String(fast.varbinds?.[1]?.value)).toBe('Gi0/0/1.100');
  });
});

describe('fast GET against snmpd', () => {
  let snmpd: SnmpdServer;

  beforeAll(async () => {
    snmpd = await startSnmpd();
  });

  afterAll(async () => {
    await snmpd?.stop();
  });

  it('returns exactly the varbinds and stats events of the net-snmp path', async () => {
    const oids = [
      '1.3.6.1.2.1.1.1.0', // sysDescr
      '1.3.6.1.2.1.1.2.0', // sysObjectID
      `${OIDS.ifDescr}.1`,
      '1.3.6.1.2.1.2.2.1.1.1', // ifIndex: Integer
      '1.3.6.1.2.1.2.2.1.4.1', // ifMtu
      `${OIDS.ifSpeed}.1`,
      '1.3.6.1.2.1.4.20.1.1.127.0.0.1', // ipAdEntAddr: IpAddress
      `${OIDS.ifHCInOctets}.999999`,
      '1.3.6.1.4.1.99999.1.0',
    ];
    const { net, fast } = await bothPaths({ port: snmpd.port }, oids);
    expect(net.err).toBeUndefined();
    expect(fast.varbinds).toEqual(net.varbinds);
    expect(fast.events).toEqual(net.events);
    const vbs = fast.varbinds as SnmpVarbind[];
    expect(vbs[6]).toMatchObject({ type: snmp.ObjectType.IpAddress, value: '127.0.0.1' });
    expect(vbs.map((v) => v.problem)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined, 'noSuchInstance', 'noSuchObject']);
  });

  it('reads moving counters as the same types as net-snmp', async () => {
    const oids = [OIDS.sysUpTime0, `${OIDS.ifInOctets}.1`, `${OIDS.ifHCInOctets}.1`];
    const { net, fast } = await bothPaths({ port: snmpd.port }, oids);
    const a = net.varbinds as SnmpVarbind[];
    const b = fast.varbinds as SnmpVarbind[];
    expect(b.map((v) => [v.oid, v.type, typeof v.value, Buffer.isBuffer(v.value)])).toEqual(a.map((v) => [v.oid, v.type, typeof v.value, Buffer.isBuffer(v.value)]));
    expect(toBigInt(b[2]?.value)).toBeGreaterThanOrEqual(toBigInt(a[2]?.value));
  });

  it('a wrong community is a timeout, as on the net-snmp path (the agent stays silent)', async () => {
    const { net, fast } = await bothPaths({ port: snmpd.port, auth: V2('not-public') }, [OIDS.sysUpTime0], { timeout_ms: 300 });
    expect(fast.err?.kind).toBe('timeout');
    expect(fast.events).toEqual(net.events);
  });

  it('v3 authPriv still works with fast_get on', async () => {
    const auth: SnmpAuthConfig = {
      version: '3',
      username: snmpd.v3.user,
      security_level: 'authPriv',
      auth_protocol: 'sha',
      auth_password: new Secret(snmpd.v3.authPassword),
      priv_protocol: 'aes',
      priv_password: new Secret(snmpd.v3.privPassword),
    };
    const fast = await getVia(true, { port: snmpd.port, auth }, [OIDS.sysUpTime0, `${OIDS.ifDescr}.1`]);
    expect(fast.err).toBeUndefined();
    expect(String(fast.varbinds?.[1]?.value)).toBe('lo');
  });
});

describe('fast GET socket (loopback agent)', () => {
  const OIDS2 = [OIDS.sysUpTime0, `${OIDS.ifHCInOctets}.1`];
  const answer = (id: number, counter: number) =>
    getResponse({
      id,
      varbinds: [
        { oid: OIDS.sysUpTime0, value: intValue(100, 0x43) },
        { oid: `${OIDS.ifHCInOctets}.1`, value: bytesValue(Buffer.from([0, 0, 0, 0, 0, 0, 0, counter]), 0x46) },
      ],
    });

  function channel(agent: SnmpLoopback, over: { timeoutMs?: number; retries?: number } = {}): FastGetChannel {
    return new FastGetChannel({ name: 'dev', host: '127.0.0.1', port: agent.port, version: snmp.Version2c, community: 'public', timeoutMs: over.timeoutMs ?? 5000, retries: over.retries ?? 0 }, silentLogger());
  }

  const get = (ch: FastGetChannel, oids: string[]) =>
    new Promise<{ err: Error | null; varbinds: SnmpVarbind[] }>((resolve) => ch.get(oids, (err, varbinds) => resolve({ err, varbinds })));

  it('resends the same datagram (same request-id) on each retry, then fails with RequestTimedOutError', async () => {
    const agent = await startSnmpLoopback();
    const ch = channel(agent, { timeoutMs: 100, retries: 2 });
    try {
      const { err } = await get(ch, OIDS2);
      expect(err).toBeInstanceOf(snmp.RequestTimedOutError);
      expect(agent.requests).toHaveLength(3);
      expect(agent.requests[1]).toEqual(agent.requests[0]);
      expect(agent.requests[2]).toEqual(agent.requests[0]);
      const id = responseRequestId(agent.requests[0] as Buffer);
      expect(id).toBeGreaterThanOrEqual(MIN_REQUEST_ID);
      expect(agent.requests[0]).toEqual(requestMessage(encodeGetTemplate(snmp.Version2c, 'public', OIDS2), id));
      expect(ch.pendingCount).toBe(0);
    } finally {
      ch.close();
      agent.close();
    }
  });

  it('ignores unreadable, unknown-id, foreign and duplicate datagrams and takes the real answer', async () => {
    const agent = await startSnmpLoopback();
    const foreign = dgram.createSocket('udp4');
    foreign.bind(0, '127.0.0.1');
    await once(foreign, 'listening');
    const ch = channel(agent);
    try {
      const nextReq = agent.nextRequest();
      const result = get(ch, OIDS2);
      const id = responseRequestId(await nextReq);
      const client = agent.lastSender();
      // Right id and shape, wrong source port: must not be taken.
      await new Promise<void>((resolve) => foreign.send(answer(id, 66), client.port, client.address, () => resolve()));
      await agent.answer(Buffer.from('not snmp at all'));
      await agent.answer(answer(id === MIN_REQUEST_ID ? id + 1 : id - 1, 77));
      await agent.answer(answer(id, 42));
      await agent.answer(answer(id, 99));
      const { err, varbinds } = await result;
      expect(err).toBeNull();
      expect(toBigInt(varbinds[1]?.value)).toBe(42n);
      await waitFor('every stray datagram counted', () => ch.ignored.foreignSource === 1 && ch.ignored.unknownId === 3, 5000);
      // The channel is still in business.
      const again = get(ch, OIDS2);
      const id2 = responseRequestId(await agent.nextRequest());
      await agent.answer(answer(id2, 7));
      expect(toBigInt((await again).varbinds[1]?.value)).toBe(7n);
    } finally {
      ch.close();
      foreign.close();
      agent.close();
    }
  });

  it('a host name is resolved when sending, and answers from the address it resolved to are taken', async () => {
    const agent = await startSnmpLoopback((id) => [answer(id, 9)]);
    const ch = new FastGetChannel({ name: 'dev', host: 'localhost', port: agent.port, version: snmp.Version2c, community: 'public', timeoutMs: 5000, retries: 0 }, silentLogger());
    try {
      const { err, varbinds } = await get(ch, OIDS2);
      expect(err).toBeNull();
      expect(toBigInt(varbinds[1]?.value)).toBe(9n);
      expect(ch.ignored).toEqual({ foreignSource: 0, unknownId: 0 });
    } finally {
      ch.close();
      agent.close();
    }
  });

  it('an answer after the timeout is ignored; the request has already failed as a timeout', async () => {
    const agent = await startSnmpLoopback();
    const ch = channel(agent, { timeoutMs: 50, retries: 0 });
    try {
      const nextReq = agent.nextRequest();
      const { err } = await get(ch, OIDS2);
      expect(err).toBeInstanceOf(snmp.RequestTimedOutError);
      await agent.answer(answer(responseRequestId(await nextReq), 1));
      await waitFor('late answer counted', () => ch.ignored.unknownId === 1, 5000);
    } finally {
      ch.close();
      agent.close();
    }
  });

  it('a malformed answer with the right request-id fails that request as a protocol error', async () => {
    const agent = await startSnmpLoopback((id) => [answer(id, 1).subarray(0, 40)]);
    const stats = new RecordedStats();
    const pool = new SnmpSessionPool(snmpConfig(true, { a: V2() }), { logger: silentLogger(), stats });
    try {
      const err = await pool
        .clientFor({ name: 'dev', host: '127.0.0.1', port: agent.port, authRef: 'a' })
        .get(OIDS2)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KindedError);
      expect((err as KindedError).kind).toBe('protocol');
      expect(stats.events).toEqual(['error dev protocol']);
    } finally {
      pool.close();
      agent.close();
    }
  });

  it('a changed OID list in the same array is encoded again', async () => {
    // First request: row 1; from then on: row 2.
    let answered = 0;
    const agent = await startSnmpLoopback((id) => [
      getResponse({ id, varbinds: [{ oid: OIDS.sysUpTime0, value: intValue(1, 0x43) }, { oid: `${OIDS.ifHCInOctets}.${answered++ === 0 ? 1 : 2}`, value: intValue(5, 0x41) }] }),
    ]);
    const ch = channel(agent);
    try {
      const oids = [OIDS.sysUpTime0, `${OIDS.ifHCInOctets}.1`];
      const first = await get(ch, oids);
      expect(first.varbinds.map((v) => v.oid)).toEqual([OIDS.sysUpTime0, `${OIDS.ifHCInOctets}.1`]);
      oids[1] = `${OIDS.ifHCInOctets}.2`;
      const second = await get(ch, oids);
      expect(second.err).toBeNull();
      expect(second.varbinds.map((v) => v.oid)).toEqual([OIDS.sysUpTime0, `${OIDS.ifHCInOctets}.2`]);
      const id = responseRequestId(agent.requests[1] as Buffer);
      expect(agent.requests[1]).toEqual(requestMessage(encodeGetTemplate(snmp.Version2c, 'public', oids), id));
    } finally {
      ch.close();
      agent.close();
    }
  });

  it('closing the client fails a waiting GET the way closing a net-snmp session does', async () => {
    const agent = await startSnmpLoopback();
    try {
      const kinds: string[] = [];
      for (const fastGet of [false, true]) {
        const pool = new SnmpSessionPool(snmpConfig(fastGet, { a: V2() }, { timeout_ms: 10000 }), { logger: silentLogger() });
        const client = pool.clientFor({ name: 'dev', host: '127.0.0.1', port: agent.port, authRef: 'a' });
        const sent = agent.nextRequest();
        const pending = client.get(OIDS2).catch((e: unknown) => e);
        await sent;
        pool.close();
        const err = (await pending) as KindedError;
        expect(err.message).toContain('Socket forcibly closed');
        kinds.push(err.kind);
      }
      expect(kinds[1]).toBe(kinds[0]);
    } finally {
      agent.close();
    }
  });

  it('a stats sink that throws does not escape the socket listener or leave the GET hanging', async () => {
    const agent = await startSnmpLoopback((id) => [answer(id, 3)]);
    const pool = new SnmpSessionPool(snmpConfig(true, { a: V2() }), {
      logger: silentLogger(),
      stats: {
        onResponse: () => {
          throw new Error('sink broke');
        },
      },
    });
    try {
      const vbs = await pool.clientFor({ name: 'dev', host: '127.0.0.1', port: agent.port, authRef: 'a' }).get(OIDS2);
      expect(toBigInt(vbs[1]?.value)).toBe(3n);
    } finally {
      pool.close();
      agent.close();
    }
  });
});
