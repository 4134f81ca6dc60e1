import snmp, { type Session, type Varbind } from 'net-snmp';
import { KindedError, type ErrorKind, type Logger, type Config, type SnmpAuthConfig } from '@bandwatch/core';
import { FastGetChannel } from './fastGetChannel';
import { Limiter } from './limiter';

/*
 * The collector's only door to SNMP. Everything above it (discovery, poller,
 * discover command) speaks this small interface; the net-snmp implementation
 * below owns sessions, concurrency limits, varbind checks and error kinds.
 */

export type VarbindProblem = 'noSuchObject' | 'noSuchInstance' | 'endOfMibView';

export interface SnmpVarbind {
  oid: string;
  type: number;
  /** Raw net-snmp value: number, Buffer (OctetString, Counter64), string (OID) or null. */
  value: unknown;
  /** Set when the agent answered this varbind with an exception instead of a value. */
  problem?: VarbindProblem;
}

export interface SnmpClient {
  readonly deviceName: string;
  /** One GET PDU. Varbind exceptions come back marked (`problem`), and are counted. */
  get(oids: string[]): Promise<SnmpVarbind[]>;
  /** One GETBULK PDU (no non-repeaters): for each requested OID, the varbinds that followed it. */
  getBulk(oids: string[], maxRepetitions: number): Promise<SnmpVarbind[][]>;
  /**
   * Walks table columns with GETBULK, all columns in the same PDUs. Returns
   * column OID → (row index suffix → varbind). Halves max-repetitions when
   * the agent answers tooBig.
   */
  walkColumns(columns: string[], maxRepetitions: number): Promise<Map<string, Map<string, SnmpVarbind>>>;
  close(): void;
}

/** Where SNMP outcomes are counted; the metrics module implements this. */
export interface SnmpStats {
  /** A PDU was answered. */
  onResponse?(device: string, pdu: 'get' | 'getbulk', varbinds: number, durationMs: number): void;
  /** A PDU failed; `kind` is timeout | auth | protocol | agent. */
  onError?(device: string, kind: ErrorKind, err: KindedError): void;
  /** A varbind came back as noSuchObject / noSuchInstance / endOfMibView where a value was asked for. */
  onVarbindProblem?(device: string, problem: VarbindProblem, oid: string): void;
}

/** A plain in-memory SnmpStats: per-device counts by kind (tests, `discover`, or a metrics adapter). */
export class SnmpErrorCounts implements SnmpStats {
  readonly errors = new Map<string, Partial<Record<ErrorKind, number>>>();
  readonly varbindProblems = new Map<string, number>();
  readonly responses = new Map<string, number>();

  onResponse(device: string): void {
    this.responses.set(device, (this.responses.get(device) ?? 0) + 1);
  }

  onError(device: string, kind: ErrorKind): void {
    const m = this.errors.get(device) ?? {};
    m[kind] = (m[kind] ?? 0) + 1;
    this.errors.set(device, m);
  }

  onVarbindProblem(device: string): void {
    this.varbindProblems.set(device, (this.varbindProblems.get(device) ?? 0) + 1);
  }

  count(device: string, kind: ErrorKind): number {
    return this.errors.get(device)?.[kind] ?? 0;
  }
}

/** Fans one event out to several stats sinks (e.g. metrics + a test's counter). */
export function combineStats(...sinks: Array<SnmpStats | undefined>): SnmpStats {
  const list = sinks.filter((s): s is SnmpStats => s !== undefined);
  return {
    onResponse: (...a) => list.forEach((s) => s.onResponse?.(...a)),
    onError: (...a) => list.forEach((s) => s.onError?.(...a)),
    onVarbindProblem: (...a) => list.forEach((s) => s.onVarbindProblem?.(...a)),
  };
}

const T = snmp.ObjectType as Record<string, number>;
const PROBLEM_BY_TYPE = new Map<number, VarbindProblem>([
  [T.NoSuchObject as number, 'noSuchObject'],
  [T.NoSuchInstance as number, 'noSuchInstance'],
  [T.EndOfMibView as number, 'endOfMibView'],
]);
const AUTH_CODES = new Set([
  snmp.ResponseInvalidCode.EAuthFailure,
  snmp.ResponseInvalidCode.ECouldNotDecrypt,
  snmp.ResponseInvalidCode.ENotInTimeWindow,
]);

/** net-snmp error → our kind. A wrong v2c community cannot be told from a dead agent: it is a timeout. */
export function classifySnmpError(err: unknown): ErrorKind {
  if (err instanceof snmp.RequestTimedOutError) return 'timeout';
  if (err instanceof snmp.ResponseInvalidError) {
    if (AUTH_CODES.has(err.code)) return 'auth';
    if (/digest|unknown user|decrypt|authentic|not in time window/i.test(err.message)) return 'auth';
    return 'protocol';
  }
  if (err instanceof snmp.RequestFailedError) return 'agent';
  if (err instanceof snmp.RequestInvalidError) return 'protocol';
  const msg = err instanceof Error ? err.message : String(err);
  if (/timed out/i.test(msg)) return 'timeout';
  return 'protocol';
}

export function isTooBig(err: unknown): boolean {
  const cause = err instanceof KindedError ? err.cause : err;
  return cause instanceof snmp.RequestFailedError && cause.status === snmp.ErrorStatus.TooBig;
}

/** Counter64 (Buffer of up to 8 bytes), Counter32/Gauge (number) → bigint. */
export function toBigInt(value: unknown): bigint {
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  if (typeof value === 'bigint') return value;
  if (Buffer.isBuffer(value)) {
    // Agents send Counter64 in as few bytes as the value needs; 8 is the common case.
    if (value.length === 8) {
      const hi = value.readUInt32BE(0);
      // Below 2^53 (every real octet counter) one exact Number → one BigInt.
      return hi < 0x200000 ? BigInt(hi * 0x100000000 + value.readUInt32BE(4)) : value.readBigUInt64BE(0);
    }
    let v = 0n;
    for (const byte of value) v = (v << 8n) | BigInt(byte);
    return v;
  }
  throw new KindedError('protocol', `expected a counter, got ${typeof value}`);
}

export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value)) return Number(toBigInt(value));
  throw new KindedError('protocol', `expected a number, got ${typeof value}`);
}

export function toText(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value === null || value === undefined) return '';
  return String(value);
}

export interface SnmpTarget {
  name: string;
  host: string;
  port: number;
  auth: SnmpAuthConfig;
  timeoutMs: number;
  retries: number;
}

export class NetSnmpClient implements SnmpClient {
  readonly deviceName: string;
  private readonly session: Session;
  /** GETs of a v1/v2c device with fast GET on; everything else goes through `session`. */
  private readonly fast: FastGetChannel | undefined;
  private readonly perDevice: Limiter;
  private readonly global: Limiter;
  private readonly stats: SnmpStats;
  private closed = false;

  constructor(target: SnmpTarget, limits: { perDevice: Limiter; global: Limiter }, stats: SnmpStats, logger: Logger, options: { fastGet?: boolean } = {}) {
    this.deviceName = target.name;
    this.perDevice = limits.perDevice;
    this.global = limits.global;
    this.stats = stats;
    this.session = openSession(target);
    const a = target.auth;
    this.fast =
      options.fastGet && a.version !== '3'
        ? new FastGetChannel(
            { name: target.name, host: target.host, port: target.port, version: a.version === '1' ? snmp.Version1 : snmp.Version2c, community: a.community?.reveal() ?? '', timeoutMs: target.timeoutMs, retries: target.retries },
            logger,
          )
        : undefined;
    // A socket error must not crash the process (no throw in a listener):
    // the next request on this session reports it where it can be handled.
    this.session.on('error', (err) => logger.warn({ device: target.name, err: err.message }, 'snmp session error'));
  }

  async get(oids: string[]): Promise<SnmpVarbind[]> {
    const fast = this.fast;
    if (fast) {
      // The fast path's varbinds are already marked; only the counting is left.
      const vbs = await this.request<SnmpVarbind>('get', oids, (cb) => fast.get(oids, cb));
      for (let i = 0; i < vbs.length; i++) {
        const vb = vbs[i] as SnmpVarbind;
        if (vb.problem) this.stats.onVarbindProblem?.(this.deviceName, vb.problem, vb.oid);
      }
      return vbs;
    }
    const vbs = await this.request<Varbind>('get', oids, (cb) => this.session.get(oids, cb));
    return vbs.map((vb) => this.check(vb as Varbind, 'get'));
  }

  async getBulk(oids: string[], maxRepetitions: number): Promise<SnmpVarbind[][]> {
    // net-snmp groups the repetitions of each requested OID into an array.
    const groups = await this.request<Varbind | Varbind[]>('getbulk', oids, (cb) => this.session.getBulk(oids, 0, maxRepetitions, cb));
    return groups.map((g) => (Array.isArray(g) ? g : [g]).map((vb) => this.check(vb as Varbind, 'getbulk')));
  }

  async walkColumns(columns: string[], maxRepetitions: number): Promise<Map<string, Map<string, SnmpVarbind>>> {
    const result = new Map<string, Map<string, SnmpVarbind>>(columns.map((c) => [c, new Map()]));
    // Each column advances independently; a column drops out when the agent
    // moves past it (next OID outside the column) or reports endOfMibView.
    let active = columns.map((c) => ({ column: c, cursor: c }));
    let reps = maxRepetitions;
    while (active.length > 0) {
      let groups: SnmpVarbind[][];
      try {
        groups = await this.getBulk(
          active.map((a) => a.cursor),
          Math.max(1, Math.floor(reps)),
        );
      } catch (err) {
        if (isTooBig(err) && reps > 1) {
          reps = Math.max(1, Math.floor(reps / 2));
          continue;
        }
        throw err;
      }
      const still: typeof active = [];
      active.forEach((a, i) => {
        const group = groups[i] ?? [];
        let finished = group.length === 0;
        for (const vb of group) {
          if (vb.problem === 'endOfMibView' || !vb.oid.startsWith(`${a.column}.`)) {
            finished = true;
            break;
          }
          result.get(a.column)?.set(vb.oid.slice(a.column.length + 1), vb);
          a.cursor = vb.oid;
        }
        if (!finished) still.push(a);
      });
      active = still;
    }
    return result;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fast?.close();
    try {
      this.session.close();
    } catch {
      // already closed by a socket error: nothing left to release
    }
  }

  private async request<V>(pdu: 'get' | 'getbulk', oids: string[], send: (cb: (err: Error | null, vbs: V[]) => void) => void): Promise<V[]> {
    if (this.closed) throw new KindedError('internal', `device ${this.deviceName}: snmp client is closed`);
    // A global slot, then the device's; taken without a wait when free,
    // because this runs for every PDU of every cycle.
    if (!this.global.tryAcquire()) await this.global.acquire();
    try {
      if (!this.perDevice.tryAcquire()) await this.perDevice.acquire();
      try {
        return await new Promise<V[]>((resolve, reject) => {
          const started = performance.now();
          send((err, vbs) => {
            // Settled before the stats sink runs (the caller resumes only
            // after it anyway), so a sink that throws cannot leave the PDU hanging.
            if (err) {
              const kind = classifySnmpError(err);
              const kinded = new KindedError(kind, `device ${this.deviceName}: snmp ${pdu} ${oids[0] ?? ''}${oids.length > 1 ? ` (+${oids.length - 1})` : ''}: ${err.message}`, { cause: err });
              reject(kinded);
              this.stats.onError?.(this.deviceName, kind, kinded);
              return;
            }
            resolve(vbs);
            let count = 0;
            for (let i = 0; i < vbs.length; i++) {
              const vb = vbs[i];
              count += Array.isArray(vb) ? vb.length : 1;
            }
            this.stats.onResponse?.(this.deviceName, pdu, count, performance.now() - started);
          });
        });
      } finally {
        this.perDevice.release();
      }
    } finally {
      this.global.release();
    }
  }

  private check(vb: Varbind, pdu: 'get' | 'getbulk'): SnmpVarbind {
    const problem = PROBLEM_BY_TYPE.get(vb.type);
    // net-snmp's varbind already has the SnmpVarbind shape: no copy per value.
    if (!problem) return vb;
    // endOfMibView ends a walk; that is not a fault of the agent.
    if (!(pdu === 'getbulk' && problem === 'endOfMibView')) this.stats.onVarbindProblem?.(this.deviceName, problem, vb.oid);
    return { oid: vb.oid, type: vb.type, value: null, problem };
  }
}

function openSession(t: SnmpTarget): Session {
  const options = { port: t.port, retries: t.retries, timeout: t.timeoutMs, idBitsSize: 32 as const, backoff: 1 };
  const a = t.auth;
  if (a.version === '3') {
    const level = snmp.SecurityLevel[a.security_level];
    const user = {
      name: a.username ?? '',
      level,
      ...(a.security_level !== 'noAuthNoPriv' ? { authProtocol: snmp.AuthProtocols[a.auth_protocol], authKey: a.auth_password?.reveal() ?? '' } : {}),
      ...(a.security_level === 'authPriv' ? { privProtocol: snmp.PrivProtocols[a.priv_protocol], privKey: a.priv_password?.reveal() ?? '' } : {}),
    };
    return snmp.createV3Session(t.host, user, { ...options, version: snmp.Version3, ...(a.context_name ? { context: a.context_name } : {}) });
  }
  return snmp.createSession(t.host, a.community?.reveal() ?? '', { ...options, version: a.version === '1' ? snmp.Version1 : snmp.Version2c });
}

/** The device fields the SNMP layer needs (both the DB's Device and the config's device fit). */
export interface SnmpDeviceRef {
  name: string;
  host: string;
  port?: number | null;
  authRef: string;
  timeoutMs?: number | null;
  retries?: number | null;
}

/**
 * Owns one SNMP session per device, the global request limit and the stats
 * sink. Ask it for a device's client; the same client comes back every cycle.
 */
export class SnmpSessionPool {
  private readonly clients = new Map<string, NetSnmpClient>();
  private readonly global: Limiter;
  private readonly snmpConfig: Config['snmp'];
  private readonly stats: SnmpStats;
  private readonly logger: Logger;

  constructor(snmpConfig: Config['snmp'], options: { logger: Logger; stats?: SnmpStats }) {
    this.snmpConfig = snmpConfig;
    this.global = new Limiter(snmpConfig.max_concurrent_requests);
    this.stats = options.stats ?? {};
    this.logger = options.logger;
  }

  clientFor(device: SnmpDeviceRef): SnmpClient {
    const existing = this.clients.get(device.name);
    if (existing) return existing;
    const auth = this.snmpConfig.auths[device.authRef];
    if (!auth) throw new KindedError('config', `device ${device.name}: snmp auth "${device.authRef}" is not declared in snmp.auths`);
    const client = new NetSnmpClient(
      {
        name: device.name,
        host: device.host,
        port: device.port ?? this.snmpConfig.port,
        auth,
        timeoutMs: device.timeoutMs ?? this.snmpConfig.timeout_ms,
        retries: device.retries ?? this.snmpConfig.retries,
      },
      { perDevice: new Limiter(this.snmpConfig.max_in_flight_per_device), global: this.global },
      this.stats,
      this.logger,
      { fastGet: this.snmpConfig.fast_get },
    );
    this.clients.set(device.name, client);
    return client;
  }

  /** Closes and forgets a device's session (its credentials or address changed). */
  drop(deviceName: string): void {
    this.clients.get(deviceName)?.close();
    this.clients.delete(deviceName);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
