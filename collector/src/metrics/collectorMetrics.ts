import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RateResult } from '../contracts';
import type { WriterHooks } from '../influx/influxWriter';

/*
 * Every collector metric, on ONE Registry owned by this object (never
 * prom-client's global one, so tests and several collectors in one process
 * do not share state). Other parts of the collector (SNMP poller, ping
 * monitor) register their own metrics on `metrics.registry`, with the same
 * `bandwatch_` prefix and unit suffixes.
 *
 * Rates are in BYTES per second here (Prometheus base unit; promtool rejects
 * `_bits_per_second`): multiply by 8 in PromQL/Grafana for bits. InfluxDB
 * keeps bits per second (in_bps), the unit ISPs bill in.
 *
 * Rates are exported as gauges of the last computed rate; the exact series
 * for billing is in InfluxDB. A gap removes the gauge value instead of
 * setting 0, so Prometheus shows absence, not a fake traffic drop.
 */

export interface VlanLabels {
  isp: string;
  reseller: string;
  device: string;
  ifname: string;
  vlan: string;
}

export interface ResellerLabels {
  isp: string;
  reseller: string;
}

export type BindingProblem = 'no_match' | 'ambiguous' | 'invalid_rule';

export class CollectorMetrics {
  readonly registry: Registry;

  readonly vlanRate: Gauge<'isp' | 'reseller' | 'device' | 'ifname' | 'vlan' | 'direction'>;
  readonly vlanUtilization: Gauge<'isp' | 'reseller' | 'device' | 'ifname' | 'vlan' | 'direction'>;
  readonly resellerRate: Gauge<'isp' | 'reseller' | 'direction'>;
  readonly resellerUtilization: Gauge<'isp' | 'reseller' | 'direction'>;
  readonly resellerCommitted: Gauge<'isp' | 'reseller'>;
  readonly uplinkRate: Gauge<'isp' | 'device' | 'direction'>;
  readonly pollDuration: Histogram<'device'>;
  readonly lastSuccessfulPoll: Gauge<'device'>;
  readonly pollOverruns: Counter<'device'>;
  readonly snmpErrors: Counter<'device' | 'kind'>;
  readonly rateGaps: Counter<'device' | 'reason'>;
  readonly resellerGaps: Counter<'isp' | 'reseller' | 'reason'>;
  readonly counterResets: Counter<'device'>;
  readonly bindingProblems: Gauge<'device' | 'problem'>;
  readonly spoolBytes: Gauge;
  readonly spoolPoints: Gauge;
  readonly pointsWritten: Counter;
  readonly pointsDropped: Counter<'reason'>;
  readonly writeErrors: Counter<'kind'>;
  readonly rollupRows: Counter;
  readonly rollupErrors: Counter;
  readonly inventoryRefreshErrors: Counter;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registry = new Registry();
    this.registry = registry;
    const reg = [registry];
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: registry, prefix: 'bandwatch_' });
      // prom-client exports these gauges with a `_total` suffix, which promtool
      // (rightly) rejects; the handle/request counts are not worth a lint failure.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        registry.removeSingleMetric(`bandwatch_${name}`);
      }
    }

    this.vlanRate = new Gauge({
      name: 'bandwatch_vlan_rate_bytes_per_second',
      help: 'Last computed rate of a reseller VLAN sub-interface (absent while in a gap).',
      labelNames: ['isp', 'reseller', 'device', 'ifname', 'vlan', 'direction'],
      registers: reg,
    });
    this.vlanUtilization = new Gauge({
      name: 'bandwatch_vlan_utilization_ratio',
      help: 'VLAN rate divided by the interface speed (ifHighSpeed), 0..1.',
      labelNames: ['isp', 'reseller', 'device', 'ifname', 'vlan', 'direction'],
      registers: reg,
    });
    this.resellerRate = new Gauge({
      name: 'bandwatch_reseller_rate_bytes_per_second',
      help: 'Sum of the rates of all bound VLANs of a reseller (only when every VLAN produced a rate).',
      labelNames: ['isp', 'reseller', 'direction'],
      registers: reg,
    });
    this.resellerUtilization = new Gauge({
      name: 'bandwatch_reseller_utilization_ratio',
      help: 'Reseller rate divided by its committed rate (1 = at the committed rate).',
      labelNames: ['isp', 'reseller', 'direction'],
      registers: reg,
    });
    this.resellerCommitted = new Gauge({
      name: 'bandwatch_reseller_committed_bytes_per_second',
      help: 'Committed rate sold to the reseller.',
      labelNames: ['isp', 'reseller'],
      registers: reg,
    });
    this.uplinkRate = new Gauge({
      name: 'bandwatch_uplink_rate_bytes_per_second',
      help: 'Sum of the bound VLAN rates of a device (uplink aggregate).',
      labelNames: ['isp', 'device', 'direction'],
      registers: reg,
    });
    this.pollDuration = new Histogram({
      name: 'bandwatch_poll_duration_seconds',
      help: 'Duration of one SNMP poll cycle of a device.',
      labelNames: ['device'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: reg,
    });
    this.lastSuccessfulPoll = new Gauge({
      name: 'bandwatch_last_successful_poll_timestamp_seconds',
      help: 'Unix time of the last poll of a device that returned counters.',
      labelNames: ['device'],
      registers: reg,
    });
    this.pollOverruns = new Counter({
      name: 'bandwatch_poll_overruns_total',
      help: 'Poll cycles skipped because the previous cycle of the device was still running.',
      labelNames: ['device'],
      registers: reg,
    });
    this.snmpErrors = new Counter({
      name: 'bandwatch_snmp_errors_total',
      help: 'SNMP request errors by device and kind (timeout, auth, protocol, agent).',
      labelNames: ['device', 'kind'],
      registers: reg,
    });
    this.rateGaps = new Counter({
      name: 'bandwatch_rate_gaps_total',
      help: 'VLAN samples that gave no rate, by reason (first_sample, counter_reset, discontinuity, overspeed, rebind, …).',
      labelNames: ['device', 'reason'],
      registers: reg,
    });
    this.resellerGaps = new Counter({
      name: 'bandwatch_reseller_gaps_total',
      help: 'Reseller aggregation rounds written as a gap (some VLAN had no rate), by reason.',
      labelNames: ['isp', 'reseller', 'reason'],
      registers: reg,
    });
    this.counterResets = new Counter({
      name: 'bandwatch_interface_resets_total',
      help: 'Counter resets seen (sysUpTime backwards, discontinuity time changed, or a 64-bit counter going down).',
      labelNames: ['device'],
      registers: reg,
    });
    this.bindingProblems = new Gauge({
      name: 'bandwatch_binding_problems',
      help: 'Reseller VLAN rules that currently bind to no interface or to more than one.',
      labelNames: ['device', 'problem'],
      registers: reg,
    });
    this.spoolBytes = new Gauge({ name: 'bandwatch_influx_spool_bytes', help: 'Bytes waiting in the on-disk InfluxDB spool.', registers: reg });
    this.spoolPoints = new Gauge({ name: 'bandwatch_influx_spool_points', help: 'Points waiting in the on-disk InfluxDB spool.', registers: reg });
    this.pointsWritten = new Counter({ name: 'bandwatch_influx_points_written_total', help: 'Points confirmed by InfluxDB.', registers: reg });
    this.pointsDropped = new Counter({
      name: 'bandwatch_influx_points_dropped_total',
      help: 'Points lost: spool_full (spool bound reached, oldest dropped) or rejected (invalid for InfluxDB).',
      labelNames: ['reason'],
      registers: reg,
    });
    this.writeErrors = new Counter({
      name: 'bandwatch_influx_write_errors_total',
      help: 'Failed InfluxDB write attempts by kind (timeout, connection, http_5xx, http_4xx).',
      labelNames: ['kind'],
      registers: reg,
    });
    this.rollupRows = new Counter({ name: 'bandwatch_rollup_rows_total', help: 'usage_5m rows upserted.', registers: reg });
    this.rollupErrors = new Counter({ name: 'bandwatch_rollup_errors_total', help: 'Failed usage_5m upserts (retried at the next boundary).', registers: reg });
    this.inventoryRefreshErrors = new Counter({
      name: 'bandwatch_inventory_refresh_errors_total',
      help: 'Failed inventory reads from Postgres (the last good inventory stays in use).',
      registers: reg,
    });
    // Zero-initialise the drop reasons so a dashboard sees 0, not "no data".
    this.pointsDropped.inc({ reason: 'spool_full' }, 0);
    this.pointsDropped.inc({ reason: 'rejected' }, 0);
  }

  /** Records one VLAN result: the rate gauges, or a counted gap (and a reset when it is one). */
  recordVlan(labels: VlanLabels, result: RateResult, ifHighSpeedMbps: number): void {
    if (result.kind === 'rate') {
      this.vlanRate.set({ ...labels, direction: 'in' }, result.inBps / 8);
      this.vlanRate.set({ ...labels, direction: 'out' }, result.outBps / 8);
      if (ifHighSpeedMbps > 0) {
        this.vlanUtilization.set({ ...labels, direction: 'in' }, result.inBps / (ifHighSpeedMbps * 1e6));
        this.vlanUtilization.set({ ...labels, direction: 'out' }, result.outBps / (ifHighSpeedMbps * 1e6));
      }
      return;
    }
    this.rateGaps.inc({ device: labels.device, reason: result.reason });
    if (result.reason === 'counter_reset' || result.reason === 'discontinuity' || result.reason === 'negative_delta') {
      this.counterResets.inc({ device: labels.device });
    }
    for (const direction of ['in', 'out']) {
      this.vlanRate.remove({ ...labels, direction });
      this.vlanUtilization.remove({ ...labels, direction });
    }
  }

  recordReseller(labels: ResellerLabels, value: { inBps: number; outBps: number; utilizationIn: number; utilizationOut: number; committedBps: number } | { gap: string }): void {
    if ('gap' in value) {
      this.resellerGaps.inc({ ...labels, reason: value.gap });
      for (const direction of ['in', 'out']) {
        this.resellerRate.remove({ ...labels, direction });
        this.resellerUtilization.remove({ ...labels, direction });
      }
      return;
    }
    this.resellerRate.set({ ...labels, direction: 'in' }, value.inBps / 8);
    this.resellerRate.set({ ...labels, direction: 'out' }, value.outBps / 8);
    this.resellerUtilization.set({ ...labels, direction: 'in' }, value.utilizationIn);
    this.resellerUtilization.set({ ...labels, direction: 'out' }, value.utilizationOut);
    this.resellerCommitted.set(labels, value.committedBps / 8);
  }

  recordUplink(labels: { isp: string; device: string }, value: { inBps: number; outBps: number } | undefined): void {
    if (!value) {
      this.uplinkRate.remove({ ...labels, direction: 'in' });
      this.uplinkRate.remove({ ...labels, direction: 'out' });
      return;
    }
    this.uplinkRate.set({ ...labels, direction: 'in' }, value.inBps / 8);
    this.uplinkRate.set({ ...labels, direction: 'out' }, value.outBps / 8);
  }

  /** One finished device poll (success or not). */
  recordPoll(device: string, durationSeconds: number, ok: boolean, wallMs: number): void {
    this.pollDuration.observe({ device }, durationSeconds);
    if (ok) this.lastSuccessfulPoll.set({ device }, wallMs / 1000);
  }

  recordSnmpError(device: string, kind: string): void {
    this.snmpErrors.inc({ device, kind });
  }

  /** Replaces the binding-problem gauges with the current set. */
  setBindingProblems(problems: ReadonlyArray<{ device: string; problem: BindingProblem }>): void {
    this.bindingProblems.reset();
    for (const p of problems) this.bindingProblems.inc({ device: p.device, problem: p.problem });
  }

  /** Drops rate gauges of VLANs/resellers no longer in the inventory (keeps cardinality honest). */
  resetRates(): void {
    this.vlanRate.reset();
    this.vlanUtilization.reset();
    this.resellerRate.reset();
    this.resellerUtilization.reset();
    this.resellerCommitted.reset();
    this.uplinkRate.reset();
  }

  /** Hooks that connect the InfluxDB writer to these metrics. */
  writerHooks(): WriterHooks {
    return {
      written: (n) => this.pointsWritten.inc(n),
      dropped: (n, reason) => this.pointsDropped.inc({ reason }, n),
      failed: (kind) => this.writeErrors.inc({ kind }),
      spool: (bytes, points) => {
        this.spoolBytes.set(bytes);
        this.spoolPoints.set(points);
      },
    };
  }

  /** The text exposition for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
