import dgram, { type RemoteInfo, type Socket } from 'node:dgram';
import { lookup } from 'node:dns';
import { isIPv4 } from 'node:net';
import snmp from 'net-snmp';
import type { Logger } from '@bandwatch/core';
import { MAX_REQUEST_ID, MIN_REQUEST_ID, decodeGetResponse, encodeGetTemplate, requestMessage, responseRequestId, type GetRequestTemplate } from './fastGet';
import type { SnmpVarbind } from './snmpClient';

/*
 * One device's fast-GET socket: sends pre-encoded GetRequests (fastGet.ts),
 * matches responses by request-id, and retries and times out the way a
 * net-snmp session does (same bytes and id on every try, then
 * RequestTimedOutError). Concurrency limits and stats stay with the caller
 * (NetSnmpClient.request), so both paths are limited and counted alike.
 */

export interface FastGetTarget {
  name: string;
  host: string;
  port: number;
  /** net-snmp's Version1 or Version2c. */
  version: number;
  community: string;
  timeoutMs: number;
  retries: number;
}

export type FastGetCallback = (err: Error | null, varbinds: SnmpVarbind[]) => void;

interface PendingGet {
  readonly id: number;
  readonly template: GetRequestTemplate;
  readonly bytes: Buffer;
  retriesLeft: number;
  timer: NodeJS.Timeout | undefined;
  readonly callback: FastGetCallback;
}

const NO_VARBINDS: SnmpVarbind[] = [];

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function onTimeout(channel: FastGetChannel, p: PendingGet): void {
  channel.expire(p);
}

export class FastGetChannel {
  /** Datagrams dropped without failing a request: from another address/port, or no pending request with their id (late, duplicate, unparseable). */
  readonly ignored = { foreignSource: 0, unknownId: 0 };
  private readonly target: FastGetTarget;
  private readonly log: Logger;
  private socket: Socket | undefined;
  private readonly pending = new Map<number, PendingGet>();
  /**
   * Templates keyed by the caller's OID array: the poller passes the same
   * arrays every cycle. An entry lives as long as its array (a new poll plan
   * drops the old ones with it) and is re-encoded if the array's content
   * changed.
   */
  private readonly templates = new WeakMap<readonly string[], GetRequestTemplate>();
  private nextId = MIN_REQUEST_ID + Math.floor(Math.random() * (MAX_REQUEST_ID - MIN_REQUEST_ID));
  /** Where responses must come from: the host, or what it last resolved to. */
  private remoteAddress: string | undefined;
  private closed = false;

  constructor(target: FastGetTarget, logger: Logger) {
    this.target = target;
    this.log = logger;
    this.remoteAddress = isIPv4(target.host) ? target.host : undefined;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** One GET of `oids`; `callback` gets the varbinds or a net-snmp error, exactly once. */
  get(oids: readonly string[], callback: FastGetCallback): void {
    if (this.closed) {
      callback(new Error('Socket forcibly closed'), NO_VARBINDS);
      return;
    }
    let template = this.templates.get(oids);
    if (!template || !sameList(template.oids, oids)) {
      try {
        template = encodeGetTemplate(this.target.version, this.target.community, oids);
      } catch (err) {
        callback(err instanceof Error ? err : new snmp.RequestInvalidError(String(err)), NO_VARBINDS);
        return;
      }
      this.templates.set(oids, template);
    }
    const id = this.takeId();
    const p: PendingGet = { id, template, bytes: requestMessage(template, id), retriesLeft: this.target.retries, timer: undefined, callback };
    this.pending.set(id, p);
    this.send(p);
  }

  /** Closes the socket; requests still waiting fail as they do when a net-snmp session closes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const socket = this.socket;
    this.socket = undefined;
    this.failAll(new Error('Socket forcibly closed'));
    if (socket) {
      try {
        socket.close();
      } catch (err) {
        this.log.debug({ device: this.target.name, err: (err as Error).message }, 'fast get socket already closed');
      }
    }
  }

  /** A try ran out of time: send the same bytes again, or fail with RequestTimedOutError. */
  expire(p: PendingGet): void {
    if (this.pending.get(p.id) !== p) return;
    p.timer = undefined;
    if (p.retriesLeft-- > 0) {
      this.send(p);
      return;
    }
    this.pending.delete(p.id);
    this.finish(p, new snmp.RequestTimedOutError('Request timed out'), NO_VARBINDS);
  }

  private takeId(): number {
    let id = this.nextId;
    while (this.pending.has(id)) id = id >= MAX_REQUEST_ID ? MIN_REQUEST_ID : id + 1;
    this.nextId = id >= MAX_REQUEST_ID ? MIN_REQUEST_ID : id + 1;
    return id;
  }

  private send(p: PendingGet): void {
    p.timer = setTimeout(onTimeout, this.target.timeoutMs, this, p);
    try {
      this.socketFor().send(p.bytes, this.target.port, this.target.host, (err) => {
        if (err) this.fail(p, err);
      });
    } catch (err) {
      this.fail(p, err instanceof Error ? err : new Error(String(err)));
    }
  }

  private fail(p: PendingGet, err: Error): void {
    if (this.pending.get(p.id) !== p) return;
    this.pending.delete(p.id);
    clearTimeout(p.timer);
    this.finish(p, err, NO_VARBINDS);
  }

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      this.finish(p, err, NO_VARBINDS);
    }
  }

  /** Hands the outcome on; whatever the callback throws is logged, never thrown out of a socket or timer listener. */
  private finish(p: PendingGet, err: Error | null, varbinds: SnmpVarbind[]): void {
    try {
      p.callback(err, varbinds);
    } catch (cbErr) {
      this.log.error({ device: this.target.name, err: cbErr }, 'fast get callback failed');
    }
  }

  private socketFor(): Socket {
    if (this.socket) return this.socket;
    const options: dgram.SocketOptions =
      this.remoteAddress !== undefined
        ? { type: 'udp4' }
        : {
            type: 'udp4',
            // Each send resolves the host (as net-snmp's does); remember the
            // answer so responses can be checked against it.
            lookup: (hostname, opts, cb) =>
              lookup(hostname, opts, (err, address, family) => {
                // The implicit bind resolves 0.0.0.0 through here too.
                if (!err && hostname === this.target.host) this.remoteAddress = address;
                cb(err, address, family);
              }),
          };
    const socket = dgram.createSocket(options);
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    // No throw in a listener: a socket error is logged; the request it hit times out.
    socket.on('error', (err) => this.log.warn({ device: this.target.name, err: err.message }, 'snmp fast get socket error'));
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.failAll(new Error('Socket forcibly closed'));
    });
    // Pending requests keep the process alive through their timers.
    socket.unref();
    this.socket = socket;
    return socket;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (rinfo.port !== this.target.port || rinfo.address !== this.remoteAddress) {
      this.ignored.foreignSource++;
      return;
    }
    const id = responseRequestId(msg);
    const p = id < 0 ? undefined : this.pending.get(id);
    if (!p) {
      this.ignored.unknownId++;
      return;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    let varbinds: SnmpVarbind[];
    try {
      varbinds = decodeGetResponse(p.template, msg);
    } catch (err) {
      this.finish(p, err instanceof Error ? err : new snmp.ResponseInvalidError(String(err), snmp.ResponseInvalidCode.EBadVarbindList as number), NO_VARBINDS);
      return;
    }
    this.finish(p, null, varbinds);
  }
}
