import { createPool, errorMessage, type Config, type Logger } from '@bandwatch/core';
import { AlerterMetrics } from './metrics/alerterMetrics';
import { activeChannel, createNotifiers } from './notifiers/registry';
import { TEMPLATE_KEYS } from './notifiers/formatMessage';
import { Dispatcher } from './outbox/dispatcher';
import { InfluxReader } from './influx/influxReader';
import { Evaluator } from './incidents/evaluator';
import { LinkProcessor } from './incidents/linkProcessor';
import { LinkListener } from './incidents/linkListener';
import type { AppliedChange } from './incidents/alertStore';
import { STATUS_WEBHOOK_PATH, twilioStatusRouter } from './webhooks/twilioStatus';
import { startAlerterServer } from './http/alerterServer';
import { LeaderLease } from './lease/leaderLease';

export interface RunAlerterOptions {
  logger: Logger;
  signal: AbortSignal;
  /** Where the console channel writes (default stdout). */
  consoleWrite?: (line: string) => void;
}

/** Evaluation period: alerting.evaluation_interval_seconds, else the collector's poll interval. */
export function evaluationIntervalMs(config: Config): number {
  return (config.alerting.evaluation_interval_seconds ?? config.collector.poll_interval_seconds) * 1000;
}

/**
 * Next tick on the wall-clock grid of the interval, plus a short settle
 * delay so the collector's write for that poll has landed.
 */
export function nextTickAt(nowMs: number, intervalMs: number): number {
  const settle = Math.min(2000, intervalMs / 10);
  const grid = Math.floor(nowMs / intervalMs) * intervalMs + settle;
  return grid > nowMs ? grid : grid + intervalMs;
}

function sleepUntil(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms - Date.now()));
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs the alerter until `signal` aborts, then stops cleanly (in-flight
 * sends finish, the lease is released) and resolves. The HTTP endpoints run
 * on every instance; rules and dispatch only on the lease holder.
 */
export async function runAlerter(config: Config, options: RunAlerterOptions): Promise<void> {
  const log = options.logger;
  const pool = createPool({ ...config.postgres, application_name: 'bandwatch-alerter' });
  const metrics = new AlerterMetrics(pool, log);
  const channel = activeChannel(config);
  const http = config.alerting.http;
  const statusCallbackUrl = config.twilio ? (config.twilio.status_callback_url ?? `http://${http.listen}:${http.port}${STATUS_WEBHOOK_PATH}`) : null;
  const notifiers = createNotifiers({ config, statusCallbackUrl, ...(options.consoleWrite ? { consoleWrite: options.consoleWrite } : {}) });
  metrics.initChannels([...notifiers.keys()]);
  if (config.twilio && !config.twilio.status_callback_url) {
    log.warn({ statusCallbackUrl }, 'twilio.status_callback_url is not set: delivery statuses only arrive if Twilio can reach this local URL');
  }
  if (config.twilio) {
    const missing = TEMPLATE_KEYS.filter((k) => !(config.twilio?.templates as Partial<Record<string, string>>)[k]);
    if (missing.length > 0) {
      log.warn({ missing }, 'twilio.templates: no Content SID for these keys; they are sent as free-form Body, which WhatsApp rejects (63016) outside a 24 h session');
    }
  }

  let role: 'standby' | 'active' = 'standby';
  let lastTickOkMs: number | null = null;
  let lastTickError: string | null = null;
  const intervalMs = evaluationIntervalMs(config);
  const startedMs = Date.now();

  const dispatcher = new Dispatcher({ pool, notifiers, dispatch: config.alerting.dispatch, logger: log.child({ component: 'outbox' }), metrics });
  const onChange = (c: AppliedChange) => {
    metrics.stateChanges.inc({ kind: c.kind, change: c.action.type });
    if (c.notificationIds.length > 0) dispatcher.wake();
  };
  const links = new LinkProcessor(pool, config, channel, onChange);
  let listener: LinkListener | null = null;
  const evaluator = new Evaluator({ pool, influx: new InfluxReader(config.influx), config, logger: log.child({ component: 'rules' }), channel, links, onChange });
  const lease = new LeaderLease(config.postgres.url.reveal(), log);

  const routers = config.twilio
    ? [twilioStatusRouter({ pool, authToken: config.twilio.auth_token.reveal(), publicUrl: statusCallbackUrl as string, logger: log.child({ component: 'webhook' }), metrics })]
    : [];
  const server = await startAlerterServer({
    listen: http.listen,
    port: http.port,
    metrics,
    routers,
    health: () => {
      const stale = role === 'active' && Date.now() - (lastTickOkMs ?? startedMs) > 3 * intervalMs + 10_000;
      return { ok: !stale, role, channel, linkListener: listener?.connected ?? false, lastTickOkAt: lastTickOkMs && new Date(lastTickOkMs).toISOString(), lastTickError };
    },
  });
  log.info({ channel, port: server.port, evaluationIntervalSeconds: intervalMs / 1000 }, 'alerter listening');

  try {
    // Active while holding the lease; on losing it (Postgres restart, partition) stop every
    // active part and stand by again, so a second instance can take over meanwhile.
    while (!options.signal.aborted) {
      const term = new AbortController();
      const onStop = () => term.abort();
      options.signal.addEventListener('abort', onStop, { once: true });
      const held = await lease.acquire(options.signal, 2000, () => {
        log.error('lease lost: standing by');
        term.abort();
      });
      if (!held) break;
      role = 'active';
      try {
        const orphans = await dispatcher.recoverOrphans();
        if (orphans > 0) log.warn({ orphans }, 'outbox: notifications interrupted mid-send by a previous crash are queued again');
        log.info('alerter active: evaluating rules and dispatching');
        dispatcher.start();
        listener = new LinkListener(config.postgres.url.reveal(), links, log.child({ component: 'links' }));
        await listener.start();
        await tickLoop(term.signal);
      } catch (err) {
        log.error({ err: errorMessage(err) }, 'alerter: active term failed; standing by');
      } finally {
        options.signal.removeEventListener('abort', onStop);
        role = 'standby';
        await listener?.stop();
        listener = null;
        await dispatcher.stop();
        await lease.release();
      }
      if (!options.signal.aborted) await sleepUntil(Date.now() + 1000, options.signal);
    }
  } finally {
    await server.close();
    await pool.end();
    log.info('alerter stopped');
  }

  async function tickLoop(signal: AbortSignal): Promise<void> {
    let next = Date.now();
    while (!signal.aborted) {
      await sleepUntil(next, signal);
      if (signal.aborted) break;
      const t0 = Date.now();
      try {
        const changes = await evaluator.tick(t0);
        lastTickOkMs = t0;
        lastTickError = null;
        metrics.evaluations.inc({ result: 'ok' });
        if (changes.length > 0) log.info({ changes: changes.length, ms: Date.now() - t0 }, 'evaluation applied state changes');
      } catch (err) {
        // An unreachable InfluxDB is an error, never "no data": state is held until it answers.
        lastTickError = errorMessage(err);
        metrics.evaluations.inc({ result: 'error' });
        log.error({ err: lastTickError }, 'evaluation failed; incident state held');
      }
      next = nextTickAt(Date.now(), intervalMs);
    }
  }
}
