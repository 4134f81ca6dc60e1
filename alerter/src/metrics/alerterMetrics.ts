import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { errorMessage, type Logger, type Pool } from '@bandwatch/core';

/**
 * The alerter's own registry (never prom-client's global one). Firing
 * incidents and outbox depth are read from Postgres at scrape time, so they
 * are right after a restart and agree with what the API shows.
 */
export class AlerterMetrics {
  readonly registry = new Registry();
  readonly notifications: Counter<'channel' | 'outcome'>;
  readonly dispatchLatency: Histogram<'channel'>;
  readonly evaluations: Counter<'result'>;
  readonly stateChanges: Counter<'kind' | 'change'>;
  readonly webhookRequests: Counter<'result'>;

  /** Exposes every series of these channels from the start, so rates and alerts see 0 rather than absence. */
  initChannels(channels: readonly string[]): void {
    for (const channel of channels) {
      this.dispatchLatency.zero({ channel });
      for (const outcome of ['accepted', 'retry', 'failed', 'digested']) this.notifications.inc({ channel, outcome }, 0);
    }
  }

  constructor(pool: Pool, logger: Logger) {
    const registers = [this.registry];
    this.notifications = new Counter({
      name: 'bandwatch_alerter_notifications_total',
      help: 'Notification send outcomes by channel: accepted by the provider, retry scheduled, failed for good, digested, suppressed by maintenance.',
      labelNames: ['channel', 'outcome'],
      registers,
    });
    this.dispatchLatency = new Histogram({
      name: 'bandwatch_alerter_dispatch_latency_seconds',
      help: 'Time from the incident state change (outbox row written) to the provider accepting the message.',
      labelNames: ['channel'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
      registers,
    });
    this.evaluations = new Counter({ name: 'bandwatch_alerter_evaluations_total', help: 'Evaluation ticks by result.', labelNames: ['result'], registers });
    this.stateChanges = new Counter({ name: 'bandwatch_alerter_state_changes_total', help: 'Incident state changes by kind and change.', labelNames: ['kind', 'change'], registers });
    this.webhookRequests = new Counter({ name: 'bandwatch_alerter_webhook_requests_total', help: 'Twilio status callbacks by result.', labelNames: ['result'], registers });
    new Gauge({
      name: 'bandwatch_alerter_incidents_firing',
      help: 'Open incidents in the firing state by kind and severity.',
      labelNames: ['kind', 'severity'],
      registers,
      async collect() {
        this.reset();
        try {
          const res = await pool.query(`select kind, severity, count(*)::int as n from public.alerts where status = 'firing' group by kind, severity`);
          for (const r of res.rows) this.set({ kind: r.kind, severity: r.severity }, r.n);
        } catch (err) {
          logger.warn({ err: errorMessage(err) }, 'metrics: incidents query failed');
        }
      },
    });
    new Gauge({
      name: 'bandwatch_alerter_outbox_depth',
      help: 'Notifications not yet handed to a provider (pending or sending), by channel.',
      labelNames: ['channel'],
      registers,
      async collect() {
        this.reset();
        try {
          const res = await pool.query(`select channel, count(*)::int as n from public.notifications where status in ('pending', 'sending') group by channel`);
          for (const r of res.rows) this.set({ channel: r.channel }, r.n);
        } catch (err) {
          logger.warn({ err: errorMessage(err) }, 'metrics: outbox query failed');
        }
      },
    });
  }
}
