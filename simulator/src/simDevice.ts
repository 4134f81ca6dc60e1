import { createSocket, type Socket } from 'node:dgram';
import snmp, { type Agent, type MibRequest } from 'net-snmp';
import type { Logger } from '@bandwatch/core';
import { octetsUntil, rateMbpsAt, type TrafficModel } from './trafficModel';
import { expandInterfaces, type SimDeviceProfile, type SimInterfaceProfile } from './profile';

/*
 * One simulated router: a net-snmp agent on its own UDP port serving the
 * system group, ifTable and ifXTable. Counters are computed from the traffic
 * model at read time (a provider handler fills the cell just before the agent
 * answers), so 10,000 interfaces cost nothing between requests and every read
 * sees the counter as of that instant, like a real line card.
 */

const OID = {
  system: '1.3.6.1.2.1.1',
  ifNumber: '1.3.6.1.2.1.2.1',
  // Table providers register at the Entry OID: instances are entry.column.index.
  ifTable: '1.3.6.1.2.1.2.2.1',
  ifXTable: '1.3.6.1.2.1.31.1.1.1',
  // snmpEngine scalars sit after IF-MIB so walks of ifXTable end on a real
  // next object instead of endOfMibView.
  snmpEngine: '1.3.6.1.6.3.10.2.1',
} as const;

const TWO32 = 2n ** 32n;
const MASK64 = 2n ** 64n - 1n;
const T = snmp.ObjectType as Record<string, number>;
const RO = snmp.MaxAccess['read-only'] as number;
const NA = snmp.MaxAccess['not-accessible'] as number;

interface Direction {
  model: TrafficModel;
  /** Multiplier on the model (outbound that follows inbound × out_ratio). */
  scale: number;
  epochMs: number;
  segStartMs: number;
  base: bigint;
}

export interface SimInterfaceState {
  name: string;
  alias: string;
  descr: string;
  ifIndex: number;
  speedMbps: number;
  operStatus: 1 | 2;
  frozen: boolean;
  lastChangeTicks: number;
  discontinuityTicks: number;
  offset32In: bigint;
  offset32Out: bigint;
  in: Direction;
  out: Direction;
  outFollowsIn: boolean;
  outRatio: number;
}

export interface DeviceFaults {
  /** Extra latency before answering each request. */
  delayMs: number;
  /** Drop every request (a dead or unreachable router). */
  silent: boolean;
  /**
   * Answer tooBig when a response would carry more varbinds than this (0: no
   * limit), like an agent with a small maximum message size.
   */
  maxResponseVarbinds: number;
}

function counterAt(d: Direction, frozen: boolean, nowMs: number): bigint {
  if (frozen) return d.base;
  const t0 = (d.segStartMs - d.epochMs) / 1000;
  const t1 = (nowMs - d.epochMs) / 1000;
  const delta = d.scale * (octetsUntil(d.model, t1) - octetsUntil(d.model, t0));
  return d.base + BigInt(Math.max(0, Math.floor(delta)));
}

function counter64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v & MASK64);
  return b;
}

export class SimDevice {
  readonly name: string;
  readonly profile: SimDeviceProfile;
  port = 0;
  readonly faults: DeviceFaults = { delayMs: 0, silent: false, maxResponseVarbinds: 0 };
  /** Requests dropped, delayed or refused as tooBig by faults, for tests that check a fault was hit. */
  readonly faultHits = { dropped: 0, delayed: 0, tooBig: 0 };
  private bootMs = Date.now();
  private requestNowMs: number | undefined;
  private agent: Agent | undefined;
  private socket: Socket | undefined;
  private readonly byIndex = new Map<number, SimInterfaceState>();
  /** Ordered MIB layout for GETNEXT/GETBULK (see nextInstance). */
  private segments: Segment[] = [];
  private sortedIndexes: number[] = [];
  private readonly byName = new Map<string, SimInterfaceState>();
  private readonly log: Logger;

  constructor(profile: SimDeviceProfile, logger: Logger) {
    this.name = profile.name;
    this.profile = profile;
    this.log = logger.child({ device: profile.name });
    const now = Date.now();
    let next = 1;
    const used = new Set(profile.interfaces.map((i) => i.if_index).filter((x): x is number => x !== undefined));
    for (const p of expandInterfaces(profile)) {
      let ifIndex = p.if_index;
      if (ifIndex === undefined) {
        while (used.has(next)) next++;
        ifIndex = next++;
      }
      const s = this.makeState(p, ifIndex, now);
      this.byIndex.set(ifIndex, s);
      this.byName.set(s.name, s);
    }
  }

  private makeState(p: SimInterfaceProfile, ifIndex: number, now: number): SimInterfaceState {
    const outFollowsIn = p.out === undefined;
    return {
      name: p.name,
      alias: p.alias,
      descr: p.descr ?? p.name,
      ifIndex,
      speedMbps: p.speed_mbps,
      operStatus: p.oper_status === 'up' ? 1 : 2,
      frozen: p.oper_status !== 'up',
      lastChangeTicks: 0,
      discontinuityTicks: 0,
      offset32In: 0n,
      offset32Out: 0n,
      in: { model: p.in, scale: 1, epochMs: now, segStartMs: now, base: 0n },
      out: { model: p.out ?? p.in, scale: outFollowsIn ? p.out_ratio : 1, epochMs: now, segStartMs: now, base: 0n },
      outFollowsIn,
      outRatio: p.out_ratio,
    };
  }

  sysUpTimeTicks(nowMs = Date.now()): number {
    return Math.floor((nowMs - this.bootMs) / 10) % 2 ** 32;
  }

  interfaces(): SimInterfaceState[] {
    return [...this.byIndex.values()];
  }

  iface(name: string): SimInterfaceState {
    const s = this.byName.get(name);
    if (!s) throw new SimControlError(404, `device ${this.name}: no interface named "${name}"`);
    return s;
  }

  /** Current HC counters of an interface (what an SNMP GET would read now). */
  counters(name: string, nowMs = Date.now()): { inOctets: bigint; outOctets: bigint } {
    const s = this.iface(name);
    return { inOctets: counterAt(s.in, s.frozen, nowMs), outOctets: counterAt(s.out, s.frozen, nowMs) };
  }

  rateMbps(s: SimInterfaceState, nowMs = Date.now()): { inMbps: number; outMbps: number } {
    if (s.frozen) return { inMbps: 0, outMbps: 0 };
    return {
      inMbps: rateMbpsAt(s.in.model, (nowMs - s.in.epochMs) / 1000) * s.in.scale,
      outMbps: rateMbpsAt(s.out.model, (nowMs - s.out.epochMs) / 1000) * s.out.scale,
    };
  }

  async start(): Promise<void> {
    const port = this.profile.port === 0 ? await freeUdpPort(this.profile.address) : this.profile.port;
    const agent = snmp.createAgent({ port, address: this.profile.address, disableAuthorization: false }, (err) => {
      // The agent reports undecodable packets and auth failures here; a real
      // router ignores them too, so they are logged at debug only.
      if (err) this.log.debug({ err: err.message }, 'agent error');
    });
    this.agent = agent;
    const auth = agent.getAuthorizer();
    if (this.profile.community) auth.addCommunity(this.profile.community);
    for (const u of this.profile.v3_users) {
      auth.addUser({
        name: u.username,
        level: snmp.SecurityLevel[u.security_level],
        authProtocol: snmp.AuthProtocols[u.auth_protocol],
        authKey: u.auth_password,
        privProtocol: snmp.PrivProtocols[u.priv_protocol],
        privKey: u.priv_password,
      });
    }
    this.registerMib();
    // net-snmp's agent finds the next OID by sorting every sibling at every
    // step, which makes a 10,000-row walk quadratic (16 s per column). This
    // device knows its own layout, so it answers GETNEXT/GETBULK from an
    // ordered index instead; values still come from the MIB and its handlers.
    const mib = agent.getMib() as unknown as { lookup(oid: string): unknown; getTableRowCells: unknown };
    // The agent also rebuilds the whole table row (O(rows) per column) for
    // every table varbind it answers, only to attach it to its callback data;
    // this read-only device never uses that, so it costs nothing here.
    mib.getTableRowCells = () => null;
    const endOfMibView = T.EndOfMibView as number;
    (agent as unknown as Record<string, unknown>).addGetNextVarbind = (target: unknown[], startOid: string) => {
      const next = this.nextInstance(parseOid(startOid));
      const node = next ? (mib.lookup(next) as { oid: string; valueType: number; value: unknown } | null) : null;
      if (!node) {
        target.push({ previousOid: startOid, oid: startOid, type: endOfMibView, value: null });
        return null;
      }
      target.push({ previousOid: startOid, oid: node.oid, type: node.valueType, value: node.value });
      return node;
    };
    // tooBig as RFC 3416 4.2.1 has it: same request id, error-index 0, no varbinds.
    const agentInternals = agent as unknown as Record<string, unknown>;
    const sendResponse = (agentInternals.sendResponse as (...a: unknown[]) => void).bind(agent);
    agentInternals.sendResponse = (socket: unknown, rinfo: unknown, request: unknown, pdu: { varbinds: unknown[]; errorStatus: number; errorIndex: number }) => {
      const max = this.faults.maxResponseVarbinds;
      if (max > 0 && pdu.varbinds.length > max) {
        this.faultHits.tooBig++;
        pdu.errorStatus = snmp.ErrorStatus.TooBig as number;
        pdu.errorIndex = 0;
        pdu.varbinds = [];
      }
      sendResponse(socket, rinfo, request, pdu);
    };
    const sockets = Object.values(agent.listener.sockets ?? {});
    const socket = sockets[0];
    if (!socket) throw new Error(`device ${this.name}: agent opened no socket`);
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('listening', () => resolve());
      socket.once('error', (err) => reject(new Error(`device ${this.name}: cannot listen on ${this.profile.address}:${port}: ${err.message}`, { cause: err })));
    });
    this.port = socket.address().port;
    // Faults sit in front of the agent: the listener bound Agent.onMsg when
    // it was built, so its message listener is replaced by one that can drop
    // or delay a datagram before handing it on.
    socket.removeAllListeners('message');
    socket.on('message', (buf: Buffer, rinfo) => {
      if (this.faults.silent) {
        this.faultHits.dropped++;
        return;
      }
      if (this.faults.delayMs > 0) {
        this.faultHits.delayed++;
        setTimeout(() => agent.onMsg(socket, buf, rinfo), this.faults.delayMs);
        return;
      }
      agent.onMsg(socket, buf, rinfo);
    });
    this.log.debug({ port: this.port, interfaces: this.byIndex.size }, 'simulated device listening');
  }

  async stop(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    if (!agent) return;
    await new Promise<void>((resolve) => {
      try {
        agent.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  private registerMib(): void {
    const mib = this.requireAgent().getMib();
    this.segments = [];
    const scalar = (name: string, oid: string, type: number, value: unknown, handler?: (r: MibRequest) => void) => {
      this.segments.push({ kind: 'scalar', oid: parseOid(`${oid}.0`) });
      mib.registerProvider({ name, type: snmp.MibProviderType.Scalar, oid, scalarType: type, maxAccess: RO, ...(handler ? { handler } : {}) });
      mib.setScalarValue(name, value);
    };
    scalar('sysDescr', `${OID.system}.1`, T.OctetString as number, this.profile.sys_descr);
    scalar('sysObjectID', `${OID.system}.2`, T.OID as number, this.profile.sys_object_id);
    scalar('sysUpTime', `${OID.system}.3`, T.TimeTicks as number, 0, (r) => {
      r.instanceNode.value = this.sysUpTimeTicks(this.requestNow());
      r.done();
    });
    scalar('sysContact', `${OID.system}.4`, T.OctetString as number, 'noc@example.net');
    scalar('sysName', `${OID.system}.5`, T.OctetString as number, this.name);
    scalar('sysLocation', `${OID.system}.6`, T.OctetString as number, 'bandwatch simulator');
    scalar('ifNumber', OID.ifNumber, T.Integer as number, this.byIndex.size, (r) => {
      r.instanceNode.value = this.byIndex.size;
      r.done();
    });

    const col = (number: number, name: string, type: number, maxAccess = RO) => ({ number, name, type, maxAccess });
    // The walk index serves exactly the columns the provider declares.
    const columns = <C extends { number: number }>(entry: string, declared: C[]): C[] => {
      for (const c of declared) this.segments.push({ kind: 'column', prefix: parseOid(`${entry}.${c.number}`) });
      return declared;
    };
    mib.registerProvider({
      name: 'ifTable',
      type: snmp.MibProviderType.Table,
      oid: OID.ifTable,
      maxAccess: NA,
      tableColumns: columns(OID.ifTable, [
        col(1, 'ifIndex', T.Integer as number),
        col(2, 'ifDescr', T.OctetString as number),
        col(3, 'ifType', T.Integer as number),
        col(4, 'ifMtu', T.Integer as number),
        col(5, 'ifSpeed', T.Gauge as number),
        col(6, 'ifPhysAddress', T.OctetString as number),
        col(7, 'ifAdminStatus', T.Integer as number),
        col(8, 'ifOperStatus', T.Integer as number),
        col(9, 'ifLastChange', T.TimeTicks as number),
        col(10, 'ifInOctets', T.Counter as number),
        col(16, 'ifOutOctets', T.Counter as number),
      ]),
      tableIndex: [{ columnName: 'ifIndex' }],
      handler: (r) => this.fillIfTable(r),
    });
    if (this.profile.if_xtable) {
      mib.registerProvider({
        name: 'ifXTable',
        type: snmp.MibProviderType.Table,
        oid: OID.ifXTable,
        maxAccess: NA,
        tableColumns: columns(OID.ifXTable, [
          col(1, 'ifName', T.OctetString as number),
          col(6, 'ifHCInOctets', T.Counter64 as number),
          col(10, 'ifHCOutOctets', T.Counter64 as number),
          col(15, 'ifHighSpeed', T.Gauge as number),
          col(17, 'ifConnectorPresent', T.Integer as number),
          col(18, 'ifAlias', T.OctetString as number),
          col(19, 'ifCounterDiscontinuityTime', T.TimeTicks as number),
        ]),
        tableAugments: 'ifTable',
        handler: (r) => this.fillIfXTable(r),
      });
    }
    scalar('snmpEngineBoots', `${OID.snmpEngine}.2`, T.Integer as number, 1);
    scalar('snmpEngineTime', `${OID.snmpEngine}.3`, T.Integer as number, 0, (r) => {
      r.instanceNode.value = Math.floor(this.sysUpTimeTicks() / 100);
      r.done();
    });
    this.segments.sort((a, b) => compareOid(a.kind === 'scalar' ? a.oid : a.prefix, b.kind === 'scalar' ? b.oid : b.prefix));
    this.addRows();
  }

  /** The first instance OID after `oid` in this device's MIB, or null at the end. */
  nextInstance(oid: number[]): string | null {
    for (const seg of this.segments) {
      if (seg.kind === 'scalar') {
        if (compareOid(seg.oid, oid) > 0) return seg.oid.join('.');
        continue;
      }
      const p = seg.prefix;
      const idx = this.sortedIndexes;
      if (idx.length === 0) continue;
      if (isPrefix(p, oid)) {
        if (oid.length === p.length) return `${p.join('.')}.${idx[0]}`;
        // The first row whose index is above oid's (an OID below a row is before it).
        const x = oid[p.length] as number;
        const i = upperBound(idx, x);
        if (i < idx.length) return `${p.join('.')}.${idx[i]}`;
        continue;
      }
      if (compareOid(p, oid) > 0) return `${p.join('.')}.${idx[0]}`;
    }
    return null;
  }

  private addRows(): void {
    const mib = this.requireAgent().getMib();
    const sorted = [...this.byIndex.values()].sort((a, b) => a.ifIndex - b.ifIndex);
    this.sortedIndexes = sorted.map((x) => x.ifIndex);
    for (const s of sorted) {
      const mac = Buffer.from([0x02, 0x42, (s.ifIndex >> 24) & 0xff, (s.ifIndex >> 16) & 0xff, (s.ifIndex >> 8) & 0xff, s.ifIndex & 0xff]);
      // Static cells are stored; counters and status are filled by the handlers.
      mib.addTableRow('ifTable', [s.ifIndex, s.descr, 135, 1500, Math.min(s.speedMbps * 1e6, 4294967295), mac, 1, s.operStatus, 0, 0, 0]);
      if (this.profile.if_xtable) mib.addTableRow('ifXTable', [s.ifIndex, s.name, counter64(0n), counter64(0n), s.speedMbps, 1, s.alias, 0]);
    }
  }

  private deleteRows(): void {
    const mib = this.requireAgent().getMib();
    for (const s of this.byIndex.values()) {
      if (this.profile.if_xtable) mib.deleteTableRow('ifXTable', [s.ifIndex]);
      mib.deleteTableRow('ifTable', [s.ifIndex]);
    }
  }

  /**
   * One instant per event-loop turn: the agent answers all varbinds of a
   * request in one turn, so they read the counters at the same time, as a
   * router's snapshot does (a millisecond boundary between two varbinds
   * would otherwise give them different values).
   */
  private requestNow(): number {
    if (this.requestNowMs === undefined) {
      this.requestNowMs = Date.now();
      queueMicrotask(() => (this.requestNowMs = undefined));
    }
    return this.requestNowMs;
  }

  private fillIfTable(r: MibRequest): void {
    const a = r.address;
    const s = this.byIndex.get(a[a.length - 1] as number);
    if (s) {
      const now = this.requestNow();
      switch (a[a.length - 2]) {
        case 8:
          r.instanceNode.value = s.operStatus;
          break;
        case 9:
          r.instanceNode.value = s.lastChangeTicks;
          break;
        case 10:
          r.instanceNode.value = Number((counterAt(s.in, s.frozen, now) + s.offset32In) % TWO32);
          break;
        case 16:
          r.instanceNode.value = Number((counterAt(s.out, s.frozen, now) + s.offset32Out) % TWO32);
          break;
        default:
          break;
      }
    }
    r.done();
  }

  private fillIfXTable(r: MibRequest): void {
    const a = r.address;
    const s = this.byIndex.get(a[a.length - 1] as number);
    if (s) {
      const now = this.requestNow();
      switch (a[a.length - 2]) {
        case 6:
          r.instanceNode.value = counter64(counterAt(s.in, s.frozen, now));
          break;
        case 10:
          r.instanceNode.value = counter64(counterAt(s.out, s.frozen, now));
          break;
        case 19:
          r.instanceNode.value = s.discontinuityTicks;
          break;
        case 18:
          r.instanceNode.value = s.alias;
          break;
        default:
          break;
      }
    }
    r.done();
  }

  private requireAgent(): Agent {
    if (!this.agent) throw new Error(`device ${this.name}: not started`);
    return this.agent;
  }

  // ------------------------------------------------------------ faults

  /** Zeroes an interface's counters (`clear counters`), recording the discontinuity. */
  resetCounters(names?: string[]): void {
    const now = Date.now();
    const ticks = this.sysUpTimeTicks(now);
    for (const s of names ? names.map((n) => this.iface(n)) : this.byIndex.values()) {
      for (const d of [s.in, s.out]) {
        d.base = 0n;
        d.segStartMs = now;
      }
      s.offset32In = 0n;
      s.offset32Out = 0n;
      s.discontinuityTicks = ticks;
    }
  }

  /** A reboot: sysUpTime restarts at 0 and every counter starts again from 0. */
  reboot(): void {
    const now = Date.now();
    this.bootMs = now;
    for (const s of this.byIndex.values()) {
      for (const d of [s.in, s.out]) {
        d.base = 0n;
        d.segStartMs = now;
      }
      s.offset32In = 0n;
      s.offset32Out = 0n;
      s.discontinuityTicks = 0;
      s.lastChangeTicks = 0;
    }
  }

  /**
   * Gives every interface a new ifIndex (as after a line-card swap or some
   * reboots). Counters carry on: only the index moves, so a collector that
   * follows names sees a continuous series.
   */
  renumber(offset = 100): Array<{ name: string; from: number; to: number }> {
    const moves = [...this.byIndex.values()].map((s) => ({ name: s.name, from: s.ifIndex, to: s.ifIndex + offset }));
    if (moves.some((m) => m.to < 1 || m.to > 2147483647)) throw new SimControlError(400, 'renumber offset takes an ifIndex out of range');
    this.deleteRows();
    this.byIndex.clear();
    for (const m of moves) {
      const s = this.iface(m.name);
      s.ifIndex = m.to;
      this.byIndex.set(s.ifIndex, s);
    }
    this.addRows();
    return moves;
  }

  setOperStatus(name: string, up: boolean): void {
    const s = this.iface(name);
    const now = Date.now();
    if (up === (s.operStatus === 1)) return;
    if (up) {
      s.in.segStartMs = now;
      s.out.segStartMs = now;
      s.frozen = false;
      s.operStatus = 1;
    } else {
      // Fold what was sent so far; a down link sends nothing more.
      s.in.base = counterAt(s.in, false, now);
      s.out.base = counterAt(s.out, false, now);
      s.frozen = true;
      s.operStatus = 2;
    }
    s.lastChangeTicks = this.sysUpTimeTicks(now);
  }

  /**
   * Moves the 32-bit counters (ifIn/OutOctets) to `secondsBeforeWrap` seconds
   * (at the current rate, at least 1 MB) below 2^32 so they wrap soon. The
   * jump itself is announced through ifCounterDiscontinuityTime, as an agent
   * must; the wrap that follows is a genuine one. HC counters are untouched.
   */
  wrap32(name: string, secondsBeforeWrap = 5): void {
    const s = this.iface(name);
    const now = Date.now();
    const { inMbps, outMbps } = this.rateMbps(s, now);
    const margin = (mbps: number) => BigInt(Math.max(1_000_000, Math.floor(((mbps * 1e6) / 8) * secondsBeforeWrap)));
    const place = (c: bigint, m: bigint) => (((TWO32 - m - (c % TWO32)) % TWO32) + TWO32) % TWO32;
    s.offset32In = place(counterAt(s.in, s.frozen, now), margin(inMbps));
    s.offset32Out = place(counterAt(s.out, s.frozen, now), margin(outMbps));
    s.discontinuityTicks = this.sysUpTimeTicks(now);
  }

  /** Changes an interface's traffic from now on; counters continue from where they are. */
  setModel(name: string, change: { in?: TrafficModel; out?: TrafficModel }): void {
    const s = this.iface(name);
    const now = Date.now();
    const fold = (d: Direction) => {
      d.base = counterAt(d, s.frozen, now);
      d.segStartMs = now;
      d.epochMs = now;
    };
    fold(s.in);
    fold(s.out);
    if (change.in) s.in.model = change.in;
    if (change.out) {
      s.out.model = change.out;
      s.out.scale = 1;
      s.outFollowsIn = false;
    } else if (change.in && s.outFollowsIn) {
      s.out.model = change.in;
      s.out.scale = s.outRatio;
    }
  }
}

export class SimControlError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'SimControlError';
    this.status = status;
  }
}

/** net-snmp treats port 0 as "161", so a free port is picked here first. */
async function freeUdpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.on('error', reject);
    sock.bind(0, address, () => {
      const port = sock.address().port;
      sock.close(() => resolve(port));
    });
  });
}

type Segment = { kind: 'scalar'; oid: number[] } | { kind: 'column'; prefix: number[] };

function parseOid(oid: string): number[] {
  return oid
    .replace(/^\./, '')
    .split('.')
    .filter((x) => x !== '')
    .map(Number);
}

function compareOid(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function isPrefix(prefix: readonly number[], oid: readonly number[]): boolean {
  if (oid.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== oid[i]) return false;
  return true;
}

/** Index of the first element > x in an ascending array. */
function upperBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
