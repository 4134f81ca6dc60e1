import { errorMessage, withTransaction, type Config, type Logger, type Pool, type PoolClient } from '@bandwatch/core';
import { DeliveryError, type Notifier, type OutboundMessage } from '../notifiers/notifier';
import { formatDigest } from '../notifiers/formatMessage';
import type { AlerterMetrics } from '../metrics/alerterMetrics';
import { backoffMs, RateLimiter } from './backoff';

/*
 * Outbox dispatcher. Delivery protocol per row, and why it is crash-safe:
 *
 *   1. claim   (tx, `for update skip locked`): status pending → sending, attempts+1.
 *   2. send    the provider call, outside any transaction.
 *   3. record  provider_id + accepted_at in one UPDATE right after the answer.
 *
 * A row whose provider_id is recorded is never sent again: only
 * `pending` rows are claimed and step 3 never goes back to pending.
 * The one window left is between the provider accepting (2) and the
 * commit of (3): a crash there leaves `sending` without provider_id. Only the
 * lease holder dispatches, so on start every such row belongs to a dead
 * process and goes back to pending — delivered at least once, possibly twice
 * for that window alone (Twilio's Messages API has no idempotency key). The
 * status callback narrows it further: it carries the MessageSid and records
 * it on the row (by notification_id) even before step 3, and a row with a
 * provider_id is not reset.
 */

export type DispatchConfig = Config['alerting']['dispatch'];

interface ClaimedSend {
  id: string;
  channel: string;
  message: OutboundMessage;
  attempts: number;
}

/** Twilio's own statuses mapped onto ours ('sending' at Twilio means accepted, not our in-flight state). */
export function mapProviderStatus(status: string): 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'undelivered' {
  switch (status) {
    case 'sent':
    case 'delivered':
    case 'read':
    case 'failed':
    case 'undelivered':
      return status;
    default:
      return 'queued';
  }
}

export interface DispatcherDeps {
  pool: Pool;
  notifiers: Map<string, Notifier>;
  dispatch: DispatchConfig;
  logger: Logger;
  metrics: AlerterMetrics;
  random?: () => number;
  /** Rows claimed per pass. */
  batchSize?: number;
  maxInFlight?: number;
  idleMs?: number;
}

export class Dispatcher {
  readonly #d: DispatcherDeps;
  readonly #limiter: RateLimiter;
  readonly #inFlight = new Set<Promise<void>>();
  #stopped = true;
  #wake: (() => void) | null = null;
  // Set by wake() while a pass is running, so that wake-up is not lost.
  #woken = false;
  #loop: Promise<void> | null = null;

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
    this.#limiter = new RateLimiter(deps.dispatch.sender_rate_per_second);
  }

  /** Rows left `sending` by a dead process (see the header): back to pending. Only the lease holder calls this. */
  async recoverOrphans(): Promise<number> {
    const res = await this.#d.pool.query(
      `update public.notifications set status = 'pending', next_attempt_at = now(), updated_at = now(),
         error_message = 'sending interrupted by a restart; provider acceptance unknown, sending again'
       where status = 'sending' and provider_id is null`,
    );
    return res.rowCount ?? 0;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#loop = this.#run();
  }

  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let started = 0;
      this.#woken = false;
      try {
        started = await this.runOnce();
      } catch (err) {
        this.#d.logger.error({ err: errorMessage(err) }, 'outbox: claim failed');
      }
      if (started === 0 && !this.#stopped && !this.#woken) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.#d.idleMs ?? 250);
          this.#wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.#wake = null;
      }
    }
  }

  /** Claims due rows and starts their sends; returns how many sends started. */
  async runOnce(): Promise<number> {
    const capacity = (this.#d.maxInFlight ?? 8) - this.#inFlight.size;
    if (capacity <= 0) {
      await Promise.race(this.#inFlight);
      return 1;
    }
    const claimed = await withTransaction(this.#d.pool, (c) => this.#claim(c, capacity));
    for (const send of claimed) {
      const p = this.#deliver(send).finally(() => this.#inFlight.delete(p));
      this.#inFlight.add(p);
    }
    return claimed.length;
  }

  async #claim(c: PoolClient, capacity: number): Promise<ClaimedSend[]> {
    const channels = [...this.#d.notifiers.keys()];
    const due = await c.query(
      `select id, channel, recipient, audience, isp_id, reseller_id, template_key, variables, body, attempts
         from public.notifications
        where status = 'pending' and next_attempt_at <= now() and channel = any($1)
        order by created_at, id
        for update skip locked
        limit $2`,
      [channels, this.#d.batchSize ?? 200],
    );
    if (due.rows.length === 0) return [];
    const groups = new Map<string, typeof due.rows>();
    for (const r of due.rows) {
      const key = `${r.channel}\u0000${r.recipient}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    // Last hand-off per recipient (or one in flight): the minimum gap counts from it.
    const recipients = [...new Set(due.rows.map((r) => r.recipient as string))];
    const last = await c.query(
      `select channel, recipient, extract(epoch from max(coalesce(accepted_at, case when status = 'sending' then updated_at end))) * 1000 as last_ms,
              bool_or(status = 'sending') as busy, extract(epoch from now()) * 1000 as now_ms
         from public.notifications where recipient = any($1) and channel = any($2) group by channel, recipient`,
      [recipients, channels],
    );
    const lastBy = new Map(last.rows.map((r) => [`${r.channel}\u0000${r.recipient}`, r]));
    const gapMs = this.#d.dispatch.recipient_min_gap_seconds * 1000;
    const out: ClaimedSend[] = [];
    for (const [key, rows] of groups) {
      if (out.length >= capacity) break;
      const info = lastBy.get(key);
      const lastMs = info?.last_ms === null || info?.last_ms === undefined ? null : Number(info.last_ms);
      const nowMs = Number(info?.now_ms ?? Date.now());
      const ids = rows.map((r) => r.id as string);
      if (info?.busy || (lastMs !== null && gapMs > 0 && nowMs - lastMs < gapMs)) {
        // Too soon for this recipient: hold the rows; whatever piles up meanwhile goes out as one digest.
        const waitUntil = (lastMs ?? nowMs) + gapMs;
        await c.query(`update public.notifications set next_attempt_at = greatest(to_timestamp($2 / 1000.0), now() + interval '100 milliseconds') where id = any($1)`, [ids, waitUntil]);
        continue;
      }
      const first = rows[0] as (typeof rows)[number];
      if (rows.length === 1) {
        const u = await c.query(`update public.notifications set status = 'sending', attempts = attempts + 1, updated_at = now() where id = $1 returning attempts`, [first.id]);
        out.push({
          id: first.id,
          channel: first.channel,
          attempts: Number(u.rows[0].attempts),
          message: { notificationId: first.id, recipient: first.recipient, templateKey: first.template_key, variables: first.variables, body: first.body },
        });
        continue;
      }
      const digest = formatDigest(rows.map((r) => r.body as string));
      const resellers = new Set(rows.map((r) => r.reseller_id as string | null));
      const ins = await c.query(
        `insert into public.notifications (isp_id, reseller_id, channel, recipient, audience, template_key, variables, body, status, attempts, updated_at)
         values ($1, $2, $3, $4, $5, 'digest', $6, $7, 'sending', 1, now()) returning id`,
        [first.isp_id, resellers.size === 1 ? first.reseller_id : null, first.channel, first.recipient, first.audience, digest.variables, digest.body],
      );
      const digestId = ins.rows[0].id as string;
      await c.query(`update public.notifications set status = 'digested', digest_id = $2, updated_at = now() where id = any($1)`, [ids, digestId]);
      this.#d.metrics.notifications.inc({ channel: first.channel, outcome: 'digested' }, rows.length);
      out.push({
        id: digestId,
        channel: first.channel,
        attempts: 1,
        message: { notificationId: digestId, recipient: first.recipient, templateKey: 'digest', variables: digest.variables, body: digest.body },
      });
    }
    return out;
  }

  async #deliver(send: ClaimedSend): Promise<void> {
    const notifier = this.#d.notifiers.get(send.channel);
    if (!notifier) return;
    const wait = this.#limiter.reserve(notifier.senderKey);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    try {
      const result = await notifier.send(send.message);
      await this.#record(send, result.providerId, mapProviderStatus(result.providerStatus), result.providerStatus);
    } catch (err) {
      await this.#failed(send, err);
    }
  }

  async #record(send: ClaimedSend, providerId: string, status: string, providerStatus: string): Promise<void> {
    // Retried a few times: losing this write is the only way to send twice.
    for (let i = 0; ; i++) {
      try {
        const res = await this.#d.pool.query(
          `update public.notifications n
              set provider_id = coalesce(n.provider_id, $2),
                  status = case when n.status = 'sending' then $3 else n.status end,
                  provider_status = coalesce(n.provider_status, $4),
                  accepted_at = coalesce(n.accepted_at, clock_timestamp()),
                  error_code = null, error_message = null, updated_at = now()
            where n.id = $1
        returning extract(epoch from n.accepted_at - coalesce((select min(o.created_at) from public.notifications o where o.digest_id = n.id), n.created_at)) as latency_s`,
          [send.id, providerId, status, providerStatus],
        );
        const latency = Number(res.rows[0]?.latency_s ?? 0);
        this.#d.metrics.notifications.inc({ channel: send.channel, outcome: 'accepted' });
        this.#d.metrics.dispatchLatency.observe({ channel: send.channel }, latency);
        this.#d.logger.info({ notification: send.id, providerId, latencySeconds: latency }, 'notification accepted by provider');
        return;
      } catch (err) {
        if (i >= 4) {
          this.#d.logger.error({ err: errorMessage(err), notification: send.id, providerId }, 'outbox: could not record provider id; row stays sending');
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * 2 ** i));
      }
    }
  }

  async #failed(send: ClaimedSend, err: unknown): Promise<void> {
    const e = err instanceof DeliveryError ? err : new DeliveryError(errorMessage(err), { retryable: false, code: 'internal', cause: err });
    const cfg = this.#d.dispatch;
    const final = !e.retryable || send.attempts >= cfg.max_attempts;
    const delay = backoffMs(send.attempts, cfg.backoff_initial_ms, cfg.backoff_max_ms, this.#d.random);
    try {
      await this.#d.pool.query(
        `update public.notifications set status = $2, error_code = $3, error_message = $4, updated_at = now(),
            next_attempt_at = case when $2 = 'pending' then now() + ($5::double precision * interval '1 millisecond') else next_attempt_at end
          where id = $1 and status = 'sending'`,
        [send.id, final ? 'failed' : 'pending', e.code, e.message, delay],
      );
    } catch (dbErr) {
      // The row stays `sending` without provider id: recovered as pending on the next start.
      this.#d.logger.error({ err: errorMessage(dbErr), notification: send.id }, 'outbox: could not record send failure');
    }
    this.#d.metrics.notifications.inc({ channel: send.channel, outcome: final ? 'failed' : 'retry' });
    this.#d.logger.warn(
      { notification: send.id, code: e.code, attempt: send.attempts, retryInMs: final ? null : delay, final },
      final ? `notification failed: ${e.message}` : `notification send failed, retrying: ${e.message}`,
    );
  }
}
