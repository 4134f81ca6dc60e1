import { performance } from 'node:perf_hooks';
import { createInventoryReader, errorMessage, type Config, type Inventory, type LinkStateName, type Logger, type Pool } from '@bandwatch/core';
import type { Registry } from 'prom-client';
import { LINK_STATE_CODES, MEASUREMENTS, type ResellerRateSnapshot, type SeriesPoint, type SeriesWriter } from '../contracts';
import { choosePinger } from './choosePinger';
import { JitterWindow } from './jitterWindow';
import { initialState, resellerLinkState, step, type StateMachineParams, type TargetLinkState, type Transition } from './linkStateMachine';
import { readLinkStates, writeLinkState, type LinkEventRow, type LinkStateRow, type StoredLinkState } from './linkStateStore';
import { PingMetrics, type TargetLabels, type TargetSample } from './pingMetrics';
import { classifyTarget, ipv6Available } from './targetCheck';
import { PingerError, errorResult, type Pinger, type ProbeOptions, type ProbeResult } from './types';

export interface PingMonitorOptions {
  /** The validated config; only `ping` is read. */
  config: Pick<Config, 'ping'>;
  /** The service pool (service role: writes link_state / link_events, reads the inventory). */
  pool: Pool;
  writer: SeriesWriter;
  registry: Registry;
  logger: Logger;
  /** Latest rate of a reseller from the rate engine; undefined when none is known (then never IDLE). */
  getResellerRate: (resellerId: string) => ResellerRateSnapshot | undefined;
  /** Replaces the backend `ping.backend` would choose. */
  pinger?: Pinger;
  /** Called after each round has been stored (tests and the demo wait on this). */
  onRound?: (round: RoundSummary) => void;
}

export interface TargetView {
  resellerIpId: string;
  isp: string;
  reseller: string;
  resellerId: string;
  target: string;
  state: LinkStateName;
  sinceMs: number;
  sent: number;
  received: number;
  lossPercent: number | null;
  rttAvgMs: number | null;
  rttMaxMs: number | null;
  jitterMs: number | null;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  error: string | null;
}

export interface ResellerView {
  resellerId: string;
  isp: string;
  reseller: string;
  state: LinkStateName;
  targets: number;
}

export interface PingStates {
  targets: TargetView[];
  resellers: ResellerView[];
}

export interface RoundSummary {
  round: number;
  startedAtMs: number;
  durationMs: number;
  targets: number;
  errors: number;
  transitions: Array<Transition & { target: string; resellerIpId: string }>;
  /** Why the round did not update any state, when it did not. */
  failed?: string;
}

export interface PingMonitor {
  stop(): Promise<void>;
  states(): PingStates;
}

/** Everything known about one target; the metrics scrape and states() read it in place. */
interface Tracked extends TargetSample {
  resellerIpId: string;
  ispId: string;
  resellerId: string;
  address: string;
  /** The address's family, or why it can never be probed (checked when the inventory is read). */
  check: ReturnType<typeof classifyTarget>;
  link: TargetLinkState;
  jitter: JitterWindow;
  sent: number;
  received: number;
  error: string | null;
  /** This round's result while the round is being processed. */
  result: ProbeResult | undefined;
}

/** The inventory turned into what a round needs; rebuilt only when the inventory is re-read. */
interface Prepared {
  inventory: Inventory;
  /** Every target, in inventory order. */
  order: Tracked[];
  /** Probe-able address → its targets (two reseller IPs may share an address). */
  byAddress: Map<string, Tracked[]>;
  /** Distinct probe-able addresses, without and with the IPv6 ones. */
  probeV4: string[];
  probeAll: string[];
  resellers: Array<{ resellerId: string; isp: string; reseller: string; targets: Tracked[] }>;
}

const IPV6_CHECK_EVERY_MS = 60_000;
const MAX_PENDING_EVENTS = 100_000;
const LINK_STATE_REFRESH_MS = 60_000;
const WRITE_SLICE = 500;

function resumed(stored: StoredLinkState | undefined, nowMs: number, idleWindowMs: number): TargetLinkState {
  const fresh = initialState(nowMs);
  if (!stored || stored.state === 'UNKNOWN') return fresh;
  return {
    ...fresh,
    state: stored.state,
    sinceMs: stored.sinceMs,
    consecutiveFailures: stored.consecutiveFailures,
    consecutiveSuccesses: stored.consecutiveSuccesses,
    // An IDLE link had low traffic for the whole window before it went IDLE.
    lowTrafficSinceMs: stored.state === 'IDLE' ? stored.sinceMs - idleWindowMs : null,
  };
}

// Integer fields are bigint in SeriesPoint; the values are tiny, so reuse them.
const SMALL_BIGINTS = Array.from({ length: 64 }, (_, i) => BigInt(i));
const bigint = (n: number): bigint => SMALL_BIGINTS[n] ?? BigInt(n);
// The series keeps fping's resolution (1 µs); a float with 17 digits costs
// more to print than the rest of the line.
const micro = (ms: number): number => Math.round(ms * 1000) / 1000;

/**
 * Probes every reseller IP once per `ping.interval_seconds`, runs the link
 * state machine and writes link_state/link_events, the `ping` series and the
 * Prometheus metrics. Targets are re-read from the inventory every
 * `ping.inventory_refresh_seconds`, so an added or removed reseller IP is
 * picked up without a restart.
 */
export function startPingMonitor(options: PingMonitorOptions): PingMonitor {
  const cfg = options.config.ping;
  // main.ts may already hand over a `component: ping` child; do not bind it twice.
  const log = options.logger.bindings().component === 'ping' ? options.logger : options.logger.child({ component: 'ping' });
  const pinger = options.pinger ?? choosePinger(cfg, (lines) => log.warn({ lines: lines.slice(0, 5), count: lines.length }, 'fping printed lines that are not results'));
  const tracked = new Map<string, Tracked>();
  let resellers: ResellerView[] = [];
  const metrics = new PingMetrics(options.registry, () => tracked.values(), () => resellers);
  const params: StateMachineParams = {
    downAfterFailures: cfg.down_after_failures,
    upAfterSuccesses: cfg.up_after_successes,
    degradedLossPercent: cfg.degraded.loss_percent,
    degradedRttMs: cfg.degraded.rtt_ms,
    degradedRounds: cfg.degraded.rounds,
    idleFloorMbps: cfg.idle.floor_mbps,
    idleMinutes: cfg.idle.minutes,
  };
  const intervalMs = cfg.interval_seconds * 1000;
  const inventoryReader = createInventoryReader(options.pool);
  let lastInventory: Inventory | undefined;
  let prepared: Prepared | undefined;
  // When each healthy target's link_state row was last written (see below).
  const lastWrittenMs = new Map<string, number>();
  let pendingEvents: LinkEventRow[] = [];
  // link_state as this process found it: a restart resumes each target's
  // state (and its counters) instead of starting UNKNOWN, which would announce
  // every link again and forget a DOWN that the alerter already acted on.
  let resumeFrom: Map<string, StoredLinkState> | undefined;
  let ipv6: { available: boolean; checkedAtMs: number } | undefined;
  let roundNo = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;

  log.info({ backend: pinger.name, intervalSeconds: cfg.interval_seconds, probes: cfg.probes }, 'ping monitor starting');

  const probeOptions = (targets: number): ProbeOptions => {
    const periodMs = cfg.probe_period_ms ?? Math.max(cfg.timeout_ms, 10);
    // Small lists: spread the probes over half the interval, at most fping's
    // own 10 ms gap. Once that gap drops below 1 ms (thousands of targets),
    // fping's pacing loop costs more CPU than the whole round does without it
    // (measured: 10k x 3 probes, -i 0.1 → 1.0 s CPU, -i 0 → 0.4 s, no loss),
    // so the socket paces instead. Set send_interval_ms to force a gap.
    const spread = (intervalMs * 0.5) / Math.max(1, targets * cfg.probes);
    const auto = spread >= 1 ? Math.min(10, Math.floor(spread)) : 0;
    return { count: cfg.probes, timeoutMs: cfg.timeout_ms, periodMs, sendIntervalMs: cfg.send_interval_ms ?? auto };
  };

  let inventoryReadAtMs = -Infinity;
  async function loadInventory(): Promise<Inventory | undefined> {
    // Re-read on a timer, not every round: at 10k targets the read and its
    // garbage are a visible share of a round, and inventory edits are rare.
    const now = performance.now();
    if (lastInventory && now - inventoryReadAtMs < cfg.inventory_refresh_seconds * 1000 - intervalMs / 2) return lastInventory;
    try {
      // Same object back while nothing changed: the round then skips prepare().
      lastInventory = await inventoryReader.read();
      inventoryReadAtMs = now;
    } catch (err) {
      metrics.storageErrors.inc({ store: 'inventory' });
      log.error({ err: errorMessage(err) }, 'ping: read inventory failed; probing the last known targets');
    }
    return lastInventory;
  }

  async function ipv6Ok(nowMs: number): Promise<boolean> {
    if (!ipv6 || nowMs - ipv6.checkedAtMs > IPV6_CHECK_EVERY_MS) {
      ipv6 = { available: await ipv6Available(cfg.netns).catch(() => false), checkedAtMs: nowMs };
    }
    return ipv6.available;
  }

  /**
   * Everything about the targets that changes only with the inventory:
   * addresses checked, labels built, reseller groups, the probe lists. A
   * round then only probes and steps. Targets that left the inventory are
   * forgotten here, with their series.
   */
  function prepare(inv: Inventory, resume: Map<string, StoredLinkState>, nowMs: number): Prepared {
    const isps = new Map(inv.isps.map((i) => [i.id, i.slug]));
    const rs = new Map(inv.resellers.map((r) => [r.id, r]));
    const order: Tracked[] = [];
    const byAddress = new Map<string, Tracked[]>();
    const probeV4: string[] = [];
    const probeV6: string[] = [];
    const groups = new Map<string, Tracked[]>();
    const seen = new Set<string>();
    for (const ip of inv.ips) {
      const address = ip.address.trim();
      let t = tracked.get(ip.id);
      if (!t || t.address !== address) {
        // New target, or its address changed: its history says nothing about the new one.
        t = {
          resellerIpId: ip.id,
          ispId: ip.ispId,
          resellerId: ip.resellerId,
          address,
          check: classifyTarget(address),
          labels: Object.freeze({ isp: '', reseller: '', target: address }),
          link: resumed(resume.get(ip.id), nowMs, cfg.idle.minutes * 60_000),
          jitter: new JitterWindow(cfg.jitter_window_rounds),
          state: 'UNKNOWN',
          sent: 0,
          received: 0,
          lossPercent: null,
          rttAvgMs: null,
          rttMaxMs: null,
          jitterMs: null,
          errorKind: null,
          error: null,
          result: undefined,
        };
        tracked.set(ip.id, t);
        resume.delete(ip.id);
      }
      const isp = isps.get(ip.ispId) ?? ip.ispId;
      const resellerSlug = rs.get(ip.resellerId)?.slug ?? ip.resellerId;
      // Frozen: the line-protocol writer caches the escaped series key of a frozen tags object.
      if (t.labels.isp !== isp || t.labels.reseller !== resellerSlug) t.labels = Object.freeze({ isp, reseller: resellerSlug, target: address });
      t.ispId = ip.ispId;
      t.resellerId = ip.resellerId;
      seen.add(ip.id);
      order.push(t);
      const group = groups.get(ip.resellerId);
      if (group) group.push(t);
      else groups.set(ip.resellerId, [t]);
      if ('error' in t.check) continue;
      const same = byAddress.get(address);
      if (same) {
        same.push(t);
        continue;
      }
      byAddress.set(address, [t]);
      (t.check.family === 'ipv6' ? probeV6 : probeV4).push(address);
    }
    for (const id of tracked.keys()) {
      if (!seen.has(id)) {
        tracked.delete(id);
        lastWrittenMs.delete(id);
      }
    }
    return {
      inventory: inv,
      order,
      byAddress,
      probeV4,
      probeAll: probeV6.length > 0 ? [...probeV4, ...probeV6] : probeV4,
      resellers: [...groups].map(([resellerId, targets]) => {
        const r = rs.get(resellerId);
        return { resellerId, isp: (r && isps.get(r.ispId)) ?? '', reseller: r?.slug ?? resellerId, targets };
      }),
    };
  }

  async function runRound(): Promise<void> {
    const round = ++roundNo;
    const startedAtMs = Date.now();
    const t0 = performance.now();
    const summary: RoundSummary = { round, startedAtMs, durationMs: 0, targets: 0, errors: 0, transitions: [] };
    const finish = (outcome: string) => {
      summary.durationMs = performance.now() - t0;
      metrics.roundDuration.observe({ backend: pinger.name }, summary.durationMs / 1000);
      metrics.rounds.inc({ backend: pinger.name, outcome });
      options.onRound?.(summary);
    };

    const inv = await loadInventory();
    if (!inv) {
      summary.failed = 'no inventory';
      finish('failed');
      return;
    }
    if (!resumeFrom) {
      try {
        resumeFrom = await readLinkStates(options.pool);
      } catch (err) {
        metrics.storageErrors.inc({ store: 'postgres' });
        log.warn({ err: errorMessage(err) }, 'ping: could not read link_state; every target starts UNKNOWN');
        resumeFrom = new Map();
      }
    }
    if (prepared?.inventory !== inv) prepared = prepare(inv, resumeFrom, startedAtMs);
    const { order, byAddress } = prepared;

    // Bad input never reaches a backend; it is a per-target result like any other.
    const v6 = prepared.probeAll.length > prepared.probeV4.length ? await ipv6Ok(startedAtMs) : true;
    const toProbe = v6 ? prepared.probeAll : prepared.probeV4;
    summary.targets = order.length;
    metrics.targets.set(order.length);

    try {
      for (const r of await pinger.probe(toProbe, probeOptions(toProbe.length))) {
        const targets = byAddress.get(r.target);
        if (targets) for (const t of targets) t.result = r;
      }
    } catch (err) {
      // A backend that cannot run says nothing about the links: count it and keep every state as it is.
      for (const t of order) t.result = undefined;
      const kind = err instanceof PingerError ? err.kind : 'internal';
      metrics.backendErrors.inc({ backend: pinger.name, kind });
      log.error({ err: errorMessage(err), kind }, `ping: ${pinger.name} round failed`);
      summary.failed = errorMessage(err);
      finish('failed');
      return;
    }

    const nowMs = Date.now();
    const rows: LinkStateRow[] = [];
    let points: SeriesPoint[] = [];
    const errorKinds = new Map<string, number>();
    for (const t of order) {
      const address = t.address;
      let result: ProbeResult;
      if ('error' in t.check) result = errorResult(address, t.check.error);
      else if (t.check.family === 'ipv6' && !v6) result = errorResult(address, { kind: 'no_ipv6', message: `${address}: this host (or ping.netns) has no global IPv6 address` });
      else result = t.result ?? errorResult(address, { kind: 'backend', message: `${pinger.name} returned no result` });
      t.result = undefined;
      const labels: TargetLabels = t.labels;
      const lossPercent = result.error ? null : result.sent > 0 ? (100 * (result.sent - result.received)) / result.sent : 100;
      const { next, transition } = step(
        t.link,
        result.error ? { kind: 'error', message: result.error.message } : { kind: 'measured', lossPercent: lossPercent as number, rttAvgMs: result.rttAvgMs },
        params,
        nowMs,
        options.getResellerRate(t.resellerId),
      );
      const jitterMs = result.error ? t.jitter.value() : t.jitter.add(result.rttsMs);
      // Copied into the target's own object rather than replacing it: 10k
      // fresh long-lived objects a round would each end up in the old
      // generation and cost a major GC every few rounds.
      Object.assign(t.link, next);
      t.state = next.state;
      t.sent = result.sent;
      t.received = result.received;
      t.lossPercent = lossPercent;
      t.rttAvgMs = result.rttAvgMs;
      t.rttMaxMs = result.rttMaxMs;
      t.jitterMs = jitterMs;
      t.errorKind = result.error?.kind ?? null;
      t.error = result.error?.message ?? null;

      if (result.error) {
        summary.errors++;
        errorKinds.set(result.error.kind, (errorKinds.get(result.error.kind) ?? 0) + 1);
        if (result.error.kind === 'backend') metrics.backendErrors.inc({ backend: pinger.name, kind: 'target' });
      }

      // A healthy, unchanged target's row is refreshed once a minute; any
      // transition, failure, error or unhealthy state is written every round.
      // At 10k targets this halves the round's CPU; RTT history is in InfluxDB.
      const quiet = !transition && next.state === 'UP' && next.consecutiveFailures === 0 && !result.error;
      const writtenMs = lastWrittenMs.get(t.resellerIpId);
      if (!quiet || writtenMs === undefined || nowMs - writtenMs >= LINK_STATE_REFRESH_MS) {
        rows.push({
          resellerIpId: t.resellerIpId,
          ispId: t.ispId,
          resellerId: t.resellerId,
          state: next.state,
          sinceMs: next.sinceMs,
          lastRttMs: result.rttAvgMs,
          lastLossPercent: lossPercent,
          jitterMs,
          consecutiveFailures: next.consecutiveFailures,
          consecutiveSuccesses: next.consecutiveSuccesses,
          lastError: t.error,
        });
      }
      // Fields in key order, so the line-protocol writer need not sort them.
      const fields: SeriesPoint['fields'] = {};
      if (jitterMs !== null) fields.jitter_ms = micro(jitterMs);
      if (lossPercent !== null) fields.loss_pct = micro(lossPercent);
      fields.received = bigint(result.received);
      if (result.rttAvgMs !== null) fields.rtt_avg_ms = micro(result.rttAvgMs);
      if (result.rttMaxMs !== null) fields.rtt_max_ms = micro(result.rttMaxMs);
      fields.sent = bigint(result.sent);
      fields.state_code = bigint(LINK_STATE_CODES[next.state]);
      points.push({ measurement: MEASUREMENTS.ping, tags: labels, fields, timestampMs: startedAtMs });
      // Handed over in slices, so points die young instead of living through the whole loop.
      if (points.length >= WRITE_SLICE) {
        options.writer.write(points);
        points = [];
      }

      if (transition) {
        metrics.transitions.inc({ isp: labels.isp, reseller: labels.reseller, from: transition.from, to: transition.to });
        summary.transitions.push({ ...transition, target: address, resellerIpId: t.resellerIpId });
        log.info({ isp: labels.isp, reseller: labels.reseller, target: address, from: transition.from, to: transition.to, reason: transition.reason }, `link ${address} ${transition.from} → ${transition.to}`);
        pendingEvents.push({
          resellerIpId: t.resellerIpId,
          ispId: t.ispId,
          resellerId: t.resellerId,
          fromState: transition.from,
          toState: transition.to,
          atMs: nowMs,
          rttMs: result.rttAvgMs,
          lossPercent,
          details: {
            reason: transition.reason,
            target: address,
            backend: pinger.name,
            sent: result.sent,
            received: result.received,
            rtt_min_ms: result.rttMinMs,
            rtt_max_ms: result.rttMaxMs,
            jitter_ms: jitterMs,
            consecutive_failures: next.consecutiveFailures,
            consecutive_successes: next.consecutiveSuccesses,
            ...(result.error ? { error: result.error } : {}),
          },
        });
      }
    }

    metrics.targetsWithErrors.reset();
    for (const [kind, n] of errorKinds) metrics.targetsWithErrors.set({ kind }, n);
    resellers = prepared.resellers.map((g) => ({
      resellerId: g.resellerId,
      isp: g.isp,
      reseller: g.reseller,
      state: resellerLinkState(g.targets.map((t) => t.state)),
      targets: g.targets.length,
    }));

    options.writer.write(points);
    try {
      await writeLinkState(options.pool, rows, pendingEvents);
      pendingEvents = [];
      for (const r of rows) lastWrittenMs.set(r.resellerIpId, nowMs);
    } catch (err) {
      // Events are kept and retried with the next round; link_state is rewritten anyway.
      metrics.storageErrors.inc({ store: 'postgres' });
      log.error({ err: errorMessage(err), pendingEvents: pendingEvents.length }, 'ping: write link_state/link_events failed; retrying next round');
      if (pendingEvents.length > MAX_PENDING_EVENTS) {
        const dropped = pendingEvents.length - MAX_PENDING_EVENTS;
        pendingEvents = pendingEvents.slice(dropped);
        log.error({ dropped }, 'ping: pending link events over the bound; oldest dropped');
      }
    }
    finish('ok');
  }

  // Rounds start on a fixed grid; a round that overruns its slot skips the
  // missed slots instead of queueing them, so probes never pile up.
  const origin = performance.now();
  const schedule = () => {
    if (stopped) return;
    const elapsed = performance.now() - origin;
    const nextSlot = Math.ceil((elapsed + 1) / intervalMs) * intervalMs;
    timer = setTimeout(tick, nextSlot - elapsed);
  };
  const tick = () => {
    if (stopped) return;
    current = runRound()
      .catch((err: unknown) => {
        log.error({ err: errorMessage(err) }, 'ping: round crashed');
        metrics.rounds.inc({ backend: pinger.name, outcome: 'crashed' });
      })
      .finally(() => {
        current = undefined;
        schedule();
      });
  };
  timer = setTimeout(tick, 0);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
      log.info('ping monitor stopped');
    },
    states(): PingStates {
      return {
        targets: [...tracked.values()].map(
          (t): TargetView => ({
            resellerIpId: t.resellerIpId,
            isp: t.labels.isp,
            reseller: t.labels.reseller,
            resellerId: t.resellerId,
            target: t.address,
            state: t.state,
            sinceMs: t.link.sinceMs,
            sent: t.sent,
            received: t.received,
            lossPercent: t.lossPercent,
            rttAvgMs: t.rttAvgMs,
            rttMaxMs: t.rttMaxMs,
            jitterMs: t.jitterMs,
            consecutiveFailures: t.link.consecutiveFailures,
            consecutiveSuccesses: t.link.consecutiveSuccesses,
            error: t.error,
          }),
        ),
        resellers: resellers.map((r) => ({ ...r })),
      };
    },
  };
}
