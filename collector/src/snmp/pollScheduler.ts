import { KindedError, errorMessage, type Config, type Device, type Logger, type ResellerVlan } from '@bandwatch/core';
import type { InterfaceSample } from '../contracts';
import { bindRules, type BindingOutcome } from './binding';
import { discoverInterfaces, type DiscoveredInterface, type DiscoveryResult } from './discovery';
import { OIDS } from './oids';
import { SnmpSessionPool, isTooBig, toBigInt, toNumber, type SnmpClient, type SnmpStats, type SnmpVarbind } from './snmpClient';

/*
 * Polling: one DevicePoller per device, each on its own timer, so a dead or
 * slow router only ever delays itself. A cycle GETs only the bound
 * interfaces' counters, status and discontinuity time, with sysUpTime.0 in
 * every PDU so a reboot between two PDUs cannot look like traffic.
 */

/** A reseller VLAN rule's binding on its device after a discovery. */
export interface BindingResult {
  /** reseller_vlans.id */
  vlanId: string;
  resellerId: string;
  deviceId: string;
  deviceName: string;
  matchKind: ResellerVlan['matchKind'];
  matchValue: string;
  ok: boolean;
  ifIndex: number | null;
  ifName: string | null;
  /** Why the rule is not bound (no match, several matches, invalid rule); null when bound. */
  error: string | null;
  reason: 'no_match' | 'ambiguous' | 'invalid_rule' | null;
}

/** Scheduler events the metrics module can count (all optional). */
export interface PollStats {
  /** A cycle finished: how long it took, how many PDUs/varbinds, whether every PDU was answered. */
  onCycle?(deviceId: string, info: { durationMs: number; pdus: number; varbinds: number; ok: boolean; samples: number }): void;
  /** A cycle was due while the previous one still ran; it was skipped, not queued. */
  onOverrun?(deviceId: string): void;
  /** A discovery walk finished (or failed). */
  onDiscovery?(deviceId: string, info: { durationMs: number; ok: boolean; interfaces: number; reason: DiscoveryReason }): void;
}

export type DiscoveryReason = 'start' | 'interval' | 'sysuptime_backwards' | 'missing_instance' | 'requested';

export interface PollSchedulerOptions {
  devices: Device[];
  vlans: ResellerVlan[];
  /** With `inventory` present, a device's timeout_ms/retries there override snmp.timeout_ms/retries. */
  config: Pick<Config, 'snmp' | 'collector'> & Partial<Pick<Config, 'inventory'>>;
  logger: Logger;
  onSamples(deviceId: string, samples: InterfaceSample[]): void;
  onPollError(deviceId: string, err: KindedError): void;
  /** Every discovery's binding results for the device (write them with bindingStore.writeBindings). */
  onBinding?(results: BindingResult[]): void;
  snmpStats?: SnmpStats;
  pollStats?: PollStats;
  /** Shares sessions with another user (e.g. discover); created from config when absent. */
  pool?: SnmpSessionPool;
  /** Overrides collector.poll_interval_seconds (whose floor is 10 s) for tests and benchmarks. */
  pollIntervalMs?: number;
  /** Overrides collector.discovery_interval_seconds, likewise. */
  discoveryIntervalMs?: number;
  /** Poll only the interfaces bound by these rules (default) or every discovered interface (bench/debug). */
  pollAllInterfaces?: boolean;
}

interface PollTarget {
  ifIndex: number;
  ifName: string;
  highSpeedMbps: number;
}

interface PollChunk {
  targets: PollTarget[];
  /** sysUpTime.0 first, then `width` OIDs per target. */
  oids: string[];
}

interface PollPlan {
  key: string;
  targets: PollTarget[];
  hc: boolean;
  withDiscontinuity: boolean;
  width: number;
  columns: string[];
  chunks: PollChunk[];
}

function makeChunk(targets: PollTarget[], columns: readonly string[]): PollChunk {
  const oids: string[] = [OIDS.sysUpTime0];
  for (const t of targets) for (const c of columns) oids.push(`${c}.${t.ifIndex}`);
  return { targets, oids };
}

export class DevicePoller {
  readonly device: Device;
  private readonly rules: ResellerVlan[];
  private readonly client: SnmpClient;
  private readonly opts: PollSchedulerOptions;
  private readonly log: Logger;
  private readonly intervalMs: number;
  private readonly discoveryIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private nextAt = 0;
  private running: Promise<void> | undefined;
  private stopped = true;
  private discovery: DiscoveryResult | undefined;
  private lastDiscoveryAt = 0;
  private pendingDiscovery: DiscoveryReason | undefined = 'start';
  private targets: PollTarget[] = [];
  private bindings: BindingResult[] = [];
  private lastSysUpTime: number | undefined;
  /** Dropped from PDUs once the agent says it has no ifCounterDiscontinuityTime. */
  private hasDiscontinuity = true;
  private plan: PollPlan | undefined;
  /** Largest PDU this agent accepted after a tooBig (reset when it reboots). */
  private agentMaxVarbinds = Number.POSITIVE_INFINITY;
  readonly counters = { cycles: 0, overruns: 0, discoveries: 0, failedCycles: 0 };

  constructor(device: Device, rules: ResellerVlan[], client: SnmpClient, opts: PollSchedulerOptions) {
    this.device = device;
    this.rules = rules;
    this.client = client;
    this.opts = opts;
    this.log = opts.logger.child({ component: 'poller', device: device.name });
    this.intervalMs = opts.pollIntervalMs ?? opts.config.collector.poll_interval_seconds * 1000;
    this.discoveryIntervalMs = opts.discoveryIntervalMs ?? opts.config.collector.discovery_interval_seconds * 1000;
  }

  /** Starts the fixed-rate schedule; the first cycle (with discovery) runs after `delayMs`. */
  start(delayMs = 0): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.nextAt = performance.now() + delayMs;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  currentBindings(): BindingResult[] {
    return this.bindings;
  }

  currentInterfaces(): DiscoveredInterface[] {
    return this.discovery?.interfaces ?? [];
  }

  /**
   * Callbacks run inside timers: one that throws is logged, never allowed to
   * stop the schedule (or to throw out of a timer).
   */
  private emit(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, `${what} callback failed`);
    }
  }

  private reportError(err: KindedError): void {
    this.emit('onPollError', () => this.opts.onPollError(this.device.id, err));
  }

  /** Asks for a discovery before the next poll (e.g. after an inventory change). */
  requestDiscovery(): void {
    this.pendingDiscovery ??= 'requested';
  }

  /** Runs one cycle now unless one is running; resolves when it ends. */
  async runCycle(): Promise<void> {
    if (this.running) {
      this.counters.overruns++;
      this.emit('onOverrun', () => this.opts.pollStats?.onOverrun?.(this.device.id));
      return;
    }
    this.running = this.cycle().finally(() => {
      this.running = undefined;
    });
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    // Fixed-rate schedule on the monotonic clock: a late timer does not push
    // every later cycle back, and a missed slot is skipped, never queued.
    const now = performance.now();
    while (this.nextAt <= now - this.intervalMs) this.nextAt += this.intervalMs;
    const delay = Math.max(0, this.nextAt - now);
    this.timer = setTimeout(() => {
      this.nextAt += this.intervalMs;
      void this.runCycle();
      this.schedule();
    }, delay);
  }

  private async cycle(): Promise<void> {
    this.counters.cycles++;
    try {
      if (this.pendingDiscovery === undefined && performance.now() - this.lastDiscoveryAt >= this.discoveryIntervalMs) this.pendingDiscovery = 'interval';
      if (this.pendingDiscovery !== undefined) {
        const ok = await this.discover(this.pendingDiscovery);
        if (!ok) return;
      }
      await this.poll();
    } catch (err) {
      // Whatever escaped is reported, never thrown out of a timer.
      this.counters.failedCycles++;
      this.reportError(err instanceof KindedError ? err : new KindedError('internal', `device ${this.device.name}: poll cycle: ${errorMessage(err)}`, { cause: err }));
    }
  }

  private async discover(reason: DiscoveryReason): Promise<boolean> {
    const started = performance.now();
    try {
      const result = await discoverInterfaces(this.client, this.opts.config.snmp.max_repetitions);
      this.discovery = result;
      this.lastDiscoveryAt = performance.now();
      this.pendingDiscovery = undefined;
      this.counters.discoveries++;
      this.lastSysUpTime = result.sysUpTimeTicks;
      // A reboot may have come with new firmware: learn the PDU size again.
      if (reason === 'sysuptime_backwards') this.agentMaxVarbinds = Number.POSITIVE_INFINITY;
      this.rebind(result);
      this.opts.pollStats?.onDiscovery?.(this.device.id, { durationMs: performance.now() - started, ok: true, interfaces: result.interfaces.length, reason });
      this.log.debug({ reason, interfaces: result.interfaces.length, hc: result.hasIfXTable }, 'discovered');
      return true;
    } catch (err) {
      this.counters.failedCycles++;
      this.opts.pollStats?.onDiscovery?.(this.device.id, { durationMs: performance.now() - started, ok: false, interfaces: 0, reason });
      const kinded = err instanceof KindedError ? err : new KindedError('internal', `device ${this.device.name}: discovery: ${errorMessage(err)}`, { cause: err });
      this.reportError(kinded);
      return false;
    }
  }

  private rebind(result: DiscoveryResult): void {
    const byIndex = new Map(result.interfaces.map((i) => [i.ifIndex, i]));
    const outcomes: BindingOutcome[] = bindRules(
      this.rules.map((r) => ({ id: r.id, matchKind: r.matchKind, matchValue: r.matchValue })),
      result.interfaces,
    );
    this.bindings = outcomes.map((o, i) => {
      const r = this.rules[i] as ResellerVlan;
      const base = { vlanId: r.id, resellerId: r.resellerId, deviceId: this.device.id, deviceName: this.device.name, matchKind: r.matchKind, matchValue: r.matchValue };
      return o.ok
        ? { ...base, ok: true, ifIndex: o.ifIndex, ifName: o.ifName, error: null, reason: null }
        : { ...base, ok: false, ifIndex: null, ifName: null, error: o.message, reason: o.reason };
    });
    for (const b of this.bindings) if (!b.ok) this.log.warn({ rule: `${b.matchKind} ${b.matchValue}`, reason: b.reason }, `binding problem: ${b.error}`);
    const wanted = this.opts.pollAllInterfaces ? result.interfaces.map((i) => i.ifIndex) : this.bindings.filter((b) => b.ok).map((b) => b.ifIndex as number);
    this.targets = [...new Set(wanted)]
      .sort((a, b) => a - b)
      .map((ifIndex) => {
        const itf = byIndex.get(ifIndex) as DiscoveredInterface;
        return { ifIndex, ifName: itf.ifName, highSpeedMbps: itf.highSpeedMbps };
      });
    const bindings = this.bindings;
    this.emit('onBinding', () => this.opts.onBinding?.(bindings));
  }

  /**
   * The cycle's PDUs, built once per binding/capability change: the OID
   * strings of 10,000 interfaces are not rebuilt (and garbage-collected)
   * every cycle, and the same `oids` arrays go to client.get every cycle,
   * which lets the fast GET path encode each list once.
   */
  private pollPlan(): PollPlan {
    const hc = this.discovery?.hasIfXTable ?? true;
    const withDiscontinuity = hc && this.hasDiscontinuity;
    const maxVarbinds = Math.min(this.opts.config.snmp.max_varbinds_per_pdu, this.agentMaxVarbinds);
    const key = `${hc}/${withDiscontinuity}/${maxVarbinds}`;
    if (this.plan && this.plan.key === key && this.plan.targets === this.targets) return this.plan;
    // Order inside each interface's group: in, out, operStatus[, discontinuity].
    const columns: string[] = hc
      ? [OIDS.ifHCInOctets, OIDS.ifHCOutOctets, OIDS.ifOperStatus, ...(withDiscontinuity ? [OIDS.ifCounterDiscontinuityTime] : [])]
      : [OIDS.ifInOctets, OIDS.ifOutOctets, OIDS.ifOperStatus];
    const width = columns.length;
    const perPdu = Math.max(1, Math.floor((maxVarbinds - 1) / width));
    const chunks: PollChunk[] = [];
    for (let i = 0; i < this.targets.length; i += perPdu) chunks.push(makeChunk(this.targets.slice(i, i + perPdu), columns));
    // A device with nothing bound still gets sysUpTime polled: it keeps
    // reboot detection and the device's reachability visible.
    if (chunks.length === 0) chunks.push({ targets: [], oids: [OIDS.sysUpTime0] });
    this.plan = { key, targets: this.targets, hc, withDiscontinuity, width, columns, chunks };
    return this.plan;
  }

  private async poll(): Promise<void> {
    const started = performance.now();
    const plan = this.pollPlan();
    const { width, columns } = plan;
    // A local queue: PDUs the agent refuses as tooBig are split and re-queued.
    const chunks = [...plan.chunks];

    const samples: InterfaceSample[] = [];
    let varbinds = 0;
    let failed = false;
    let missing = false;
    let maxUpTime: number | undefined;
    let next = 0;
    let abort = false;
    const worker = async () => {
      while (!abort && next < chunks.length) {
        const { targets: chunk, oids } = chunks[next++] as PollChunk;
        try {
          const vbs = await this.client.get(oids);
          varbinds += vbs.length;
          const up = vbs[0];
          if (!up || up.problem || up.oid !== OIDS.sysUpTime0) throw new KindedError('agent', `device ${this.device.name}: sysUpTime.0 missing in poll response`);
          const sysUpTimeTicks = toNumber(up.value);
          maxUpTime = Math.max(maxUpTime ?? 0, sysUpTimeTicks);
          if (!this.addSamples(vbs, chunk, plan, sysUpTimeTicks, samples)) missing = true;
        } catch (err) {
          if (isTooBig(err) && chunk.length > 1) {
            // The agent's message size is smaller than max_varbinds_per_pdu
            // allows: split this PDU now and remember the size for later cycles.
            const half = Math.ceil(chunk.length / 2);
            chunks.push(makeChunk(chunk.slice(0, half), columns), makeChunk(chunk.slice(half), columns));
            const learned = 1 + half * width;
            if (learned < this.agentMaxVarbinds) {
              this.agentMaxVarbinds = learned;
              this.log.info({ maxVarbinds: learned }, 'agent answered tooBig: polling with smaller PDUs');
            }
            continue;
          }
          failed = true;
          const kinded = err instanceof KindedError ? err : new KindedError('internal', `device ${this.device.name}: poll: ${errorMessage(err)}`, { cause: err });
          // A device that times out on one PDU will time out on the rest:
          // stop this cycle instead of waiting out every remaining PDU.
          if (kinded.kind === 'timeout' || kinded.kind === 'auth') abort = true;
          this.reportError(kinded);
        }
      }
    };
    const inFlight = Math.min(this.opts.config.snmp.max_in_flight_per_device, chunks.length);
    await Promise.all(Array.from({ length: inFlight }, worker));

    if (samples.length > 0) this.emit('onSamples', () => this.opts.onSamples(this.device.id, samples));
    if (failed) this.counters.failedCycles++;
    this.opts.pollStats?.onCycle?.(this.device.id, { durationMs: performance.now() - started, pdus: chunks.length, varbinds, ok: !failed, samples: samples.length });

    if (maxUpTime !== undefined) {
      // sysUpTime going backwards is a reboot: ifIndexes may have moved.
      if (this.lastSysUpTime !== undefined && maxUpTime < this.lastSysUpTime) this.pendingDiscovery = 'sysuptime_backwards';
      this.lastSysUpTime = maxUpTime;
    }
    // An interface vanished (renumbered or removed): find it again by name.
    if (missing) this.pendingDiscovery ??= 'missing_instance';
    if (this.pendingDiscovery !== undefined && !this.stopped) await this.discover(this.pendingDiscovery);
  }

  /**
   * One answered PDU's varbinds → samples. Runs for every interface of every
   * cycle, so it is a plain loop with no closure or array per interface.
   * Returns false when an interface's counters are missing (renumbered or removed).
   */
  private addSamples(vbs: SnmpVarbind[], chunk: PollTarget[], plan: PollPlan, sysUpTimeTicks: number, samples: InterfaceSample[]): boolean {
    const { hc, withDiscontinuity, width } = plan;
    const monotonicMs = performance.now();
    const wallMs = Date.now();
    const deviceId = this.device.id;
    const deviceName = this.device.name;
    let complete = true;
    for (let k = 0, at = 1; k < chunk.length; k++, at += width) {
      const t = chunk[k] as PollTarget;
      const inVb = vbs[at];
      const outVb = vbs[at + 1];
      const operVb = vbs[at + 2];
      if (!inVb || !outVb || inVb.problem || outVb.problem) {
        complete = false;
        continue;
      }
      let discontinuityTicks = 0;
      if (withDiscontinuity) {
        const d = vbs[at + 3];
        if (d && !d.problem) discontinuityTicks = toNumber(d.value);
        else if (d?.problem === 'noSuchObject') this.hasDiscontinuity = false;
      }
      samples.push({
        deviceId,
        deviceName,
        ifIndex: t.ifIndex,
        ifName: t.ifName,
        ifHighSpeedMbps: t.highSpeedMbps,
        operStatus: operVb && !operVb.problem ? toNumber(operVb.value) : 0,
        inOctets: toBigInt(inVb.value),
        outOctets: toBigInt(outVb.value),
        counters64: hc,
        discontinuityTicks,
        sysUpTimeTicks,
        monotonicMs,
        wallMs,
      });
    }
    return complete;
  }
}

/** Runs one DevicePoller per enabled device of the inventory. */
export class PollScheduler {
  private readonly pollers = new Map<string, DevicePoller>();
  private readonly pool: SnmpSessionPool;
  private readonly ownsPool: boolean;
  private readonly intervalMs: number;

  constructor(options: PollSchedulerOptions) {
    this.intervalMs = options.pollIntervalMs ?? options.config.collector.poll_interval_seconds * 1000;
    this.ownsPool = options.pool === undefined;
    this.pool = options.pool ?? new SnmpSessionPool(options.config.snmp, { logger: options.logger, ...(options.snmpStats ? { stats: options.snmpStats } : {}) });
    // The database has no per-device SNMP timing; config-as-code may.
    const overrides = new Map((options.config.inventory?.isps ?? []).flatMap((i) => i.devices.map((d) => [d.name, d] as const)));
    for (const device of options.devices) {
      if (!device.enabled) continue;
      const rules = options.vlans.filter((v) => v.deviceId === device.id);
      const o = overrides.get(device.name);
      const client = this.pool.clientFor({ name: device.name, host: device.host, port: device.port, authRef: device.authRef, timeoutMs: o?.timeout_ms, retries: o?.retries });
      this.pollers.set(device.id, new DevicePoller(device, rules, client, options));
    }
  }

  /**
   * Starts every device, their first cycles spread evenly over one interval
   * so a thousand routers are not walked and polled in the same instant.
   */
  start(): void {
    const pollers = [...this.pollers.values()];
    pollers.forEach((p, i) => p.start((i * this.intervalMs) / pollers.length));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.pollers.values()].map((p) => p.stop()));
    if (this.ownsPool) this.pool.close();
  }

  poller(deviceId: string): DevicePoller | undefined {
    return this.pollers.get(deviceId);
  }

  all(): DevicePoller[] {
    return [...this.pollers.values()];
  }

  bindings(): BindingResult[] {
    return this.all().flatMap((p) => p.currentBindings());
  }
}
