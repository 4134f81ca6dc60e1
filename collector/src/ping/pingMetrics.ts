import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
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
 * Each per-target series costs ~3 µs of CPU per scrape at 10k targets, so
 * only up, state, RTT and loss are exposed here; RTT max and jitter go to
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

type TargetGauge = Gauge<'isp' | 'reseller' | 'target'>;

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
    const perTarget = (name: string, help: string, value: (t: TargetSample) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect(this: TargetGauge) {
          this.reset();
          for (const t of targets()) {
            const v = value(t);
            // A lost round has no RTT: the series is absent, never 0.
            if (v !== null) this.set(t.labels, v);
          }
        },
      });
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
