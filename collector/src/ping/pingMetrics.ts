import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';
import type { LinkStateName } from '@bandwatch/core';
import { LINK_STATE_CODES } from '../contracts';
import type { TargetErrorKind } from './types';

/*
 * Prometheus metrics of the ping monitor, on the registry the collector
 * passes in (never the global one). Base units: seconds and ratios.
 *
 * Per-target series (isp, reseller, target = address) are filled when
 * Prometheus scrapes, from the monitor's current state, instead of being set
 * every round: at 10k targets, setting six labelled gauges per target per
 * round cost more CPU than fping itself, and a target that leaves the
 * inventory simply stops appearing — no stale series to remove.
 * Each per-target series costs ~2.5 µs of CPU per scrape (10k targets × 4
 * gauges: ~100 ms, `npm run bench -- ping`), so only up, state, RTT and
 * loss are exposed here; RTT max and jitter go to
 * InfluxDB (`ping` series) and link_state, where dashboards read them.
 */

export type TargetLabels = {
  isp: string;
  reseller: string;
  target: string;
};

/** What the scrape reads for one target. */
export interface TargetSample {
  labels: TargetLabels;
  state: LinkStateName;
  lossPercent: number | null;
  rttAvgMs: number | null;
  rttMaxMs: number | null;
  jitterMs: number | null;
  errorKind: TargetErrorKind | null;
}

export interface ResellerSample {
  isp: string;
  reseller: string;
  state: LinkStateName;
}

/**
 * A read-only gauge over the monitor's targets, in the shape the registry
 * reads (name, help, type, get). No per-series state of its own: a target
 * that leaves the inventory simply stops appearing.
 */
const NO_LABELS = Object.freeze({});

class TargetGauge {
  readonly type = 'gauge';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly targets: () => Iterable<TargetSample>,
    private readonly value: (t: TargetSample) => number | null,
  ) {}

  // What Registry#metrics() reads from a metric (prom-client's own metrics return the same shape).
  get(): { name: string; help: string; type: 'gauge'; aggregator: 'sum'; values: Array<{ value: number; labels: typeof NO_LABELS; sharedLabels: TargetLabels }> } {
    const values: Array<{ value: number; labels: typeof NO_LABELS; sharedLabels: TargetLabels }> = [];
    for (const t of this.targets()) {
      const v = this.value(t);
      // A lost round has no RTT: the series is absent, never 0.
      // `sharedLabels` (as prom-client's histograms use it): the registry
      // formats each labels object once and keeps the text in a WeakMap, so
      // a target's frozen labels are escaped once, not on every scrape.
      if (v !== null) values.push({ value: v, labels: NO_LABELS, sharedLabels: t.labels });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}
}

export class PingMetrics {
  readonly transitions: Counter<'isp' | 'reseller' | 'from' | 'to'>;
  readonly roundDuration: Histogram<'backend'>;
  readonly rounds: Counter<'backend' | 'outcome'>;
  readonly backendErrors: Counter<'backend' | 'kind'>;
  readonly targetsWithErrors: Gauge<'kind'>;
  readonly targets: Gauge;
  readonly storageErrors: Counter<'store'>;

  constructor(registry: Registry, targets: () => Iterable<TargetSample>, resellers: () => Iterable<ResellerSample>) {
    const registers = [registry];
    const labelNames = ['isp', 'reseller', 'target'] as const;
    // Per-target gauges are read straight from the monitor's state at scrape
    // time: a Gauge would hash every label set on each set() (10k targets ×
    // 4 gauges per scrape); this hands the registry the values as they are.
    const perTarget = (name: string, help: string, value: (t: TargetSample) => number | null) =>
      registry.registerMetric(new TargetGauge(name, help, targets, value) as unknown as Metric<string>);
    perTarget('bandwatch_ping_target_up', '1 when the target answers (state UP, DEGRADED or IDLE), else 0', (t) =>
      t.state === 'UP' || t.state === 'DEGRADED' || t.state === 'IDLE' ? 1 : 0,
    );
    perTarget(
      'bandwatch_ping_target_state_code',
      `Link state of the target: ${Object.entries(LINK_STATE_CODES).map(([k, v]) => `${v}=${k}`).join(', ')}`,
      (t) => LINK_STATE_CODES[t.state],
    );
    perTarget('bandwatch_ping_rtt_seconds', 'Average round-trip time of the last round', (t) => (t.rttAvgMs === null ? null : t.rttAvgMs / 1000));
    perTarget('bandwatch_ping_loss_ratio', 'Share of probes lost in the last round (0..1)', (t) => (t.lossPercent === null ? null : t.lossPercent / 100));
    new Gauge({
      name: 'bandwatch_ping_target_error',
      help: '1 while the target cannot be probed, by reason (invalid_address, unresolvable, no_ipv6, backend)',
      labelNames: [...labelNames, 'kind'],
      registers,
      collect(this: Gauge<'isp' | 'reseller' | 'target' | 'kind'>) {
        this.reset();
        for (const t of targets()) if (t.errorKind) this.set({ ...t.labels, kind: t.errorKind }, 1);
      },
    });
    new Gauge({
      name: 'bandwatch_ping_reseller_state_code',
      help: 'Reseller link state derived from its targets (same codes as target_state_code)',
      labelNames: ['isp', 'reseller'],
      registers,
      collect(this: Gauge<'isp' | 'reseller'>) {
        this.reset();
        for (const r of resellers()) this.set({ isp: r.isp, reseller: r.reseller }, LINK_STATE_CODES[r.state]);
      },
    });
    this.transitions = new Counter({ name: 'bandwatch_ping_transitions_total', help: 'Target link state transitions', labelNames: ['isp', 'reseller', 'from', 'to'], registers });
    this.roundDuration = new Histogram({
      name: 'bandwatch_ping_round_duration_seconds',
      help: 'Wall time of one probe round, from start to results stored',
      labelNames: ['backend'],
      buckets: [0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30, 60],
      registers,
    });
    this.rounds = new Counter({ name: 'bandwatch_ping_rounds_total', help: 'Probe rounds by outcome (ok, failed, crashed)', labelNames: ['backend', 'outcome'], registers });
    this.backendErrors = new Counter({ name: 'bandwatch_ping_backend_errors_total', help: 'Backend failures by kind (spawn, exit, parse, internal; target = one target without a result)', labelNames: ['backend', 'kind'], registers });
    this.targetsWithErrors = new Gauge({ name: 'bandwatch_ping_targets_with_errors', help: 'Targets that could not be probed in the last round, by reason', labelNames: ['kind'], registers });
    this.targets = new Gauge({ name: 'bandwatch_ping_targets', help: 'Targets in the last round', registers });
    this.storageErrors = new Counter({ name: 'bandwatch_ping_storage_errors_total', help: 'Failed reads/writes of the ping monitor (inventory, postgres)', labelNames: ['store'], registers });
  }
}
