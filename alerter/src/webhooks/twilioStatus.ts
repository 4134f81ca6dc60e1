import express, { type Request, type Response, type Router } from 'express';
import twilio from 'twilio';
import { errorMessage, type Logger, type Pool } from '@bandwatch/core';
import type { AlerterMetrics } from '../metrics/alerterMetrics';

/** Local path of the status webhook; the public URL may differ behind a proxy. */
export const STATUS_WEBHOOK_PATH = '/webhooks/twilio/status';

/**
 * Order of delivery states. A callback may arrive late or twice (Twilio
 * retries, callbacks race); a status never moves backwards, e.g. `delivered`
 * after `read` is ignored. Terminal failures rank with delivered so that a
 * late `failed` cannot undo a `delivered`.
 */
export const STATUS_RANK: Record<string, number> = {
  pending: 0,
  sending: 1,
  queued: 2,
  sent: 3,
  delivered: 4,
  undelivered: 4,
  failed: 4,
  read: 5,
};

/** Twilio MessageStatus → ours; undefined for statuses we do not record. */
export function statusFromCallback(messageStatus: string): string | undefined {
  switch (messageStatus) {
    case 'accepted':
    case 'scheduled':
    case 'queued':
    case 'sending':
      return 'queued';
    case 'sent':
    case 'delivered':
    case 'read':
    case 'failed':
    case 'undelivered':
      return messageStatus;
    default:
      return undefined;
  }
}

/** True when moving from `current` to `next` goes forward. */
export function advances(current: string, next: string): boolean {
  return (STATUS_RANK[next] ?? -1) > (STATUS_RANK[current] ?? -1);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MESSAGE_SID = /^(SM|MM)[0-9a-fA-F]{32}$/;

export interface StatusWebhookOptions {
  pool: Pool;
  authToken: string;
  /** The public URL Twilio is given (without query): the signature is computed over it. */
  publicUrl: string;
  logger: Logger;
  metrics: AlerterMetrics;
}

/**
 * POST STATUS_WEBHOOK_PATH?notification_id=<uuid> (form-encoded, as Twilio
 * sends). 403 unless X-Twilio-Signature verifies; 400 for malformed bodies;
 * 404 for unknown notifications; 409 when the MessageSid contradicts the one
 * recorded. Nothing changes unless the answer is 200.
 */
export function twilioStatusRouter(o: StatusWebhookOptions): Router {
  const router = express.Router();
  router.post(STATUS_WEBHOOK_PATH, express.urlencoded({ extended: false, limit: '64kb' }), async (req: Request, res: Response) => {
    const reply = (status: number, result: string, error?: string) => {
      o.metrics.webhookRequests.inc({ result });
      res.status(status).json(error ? { error } : { ok: true });
    };
    const params = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    const signature = req.header('x-twilio-signature');
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    const url = `${o.publicUrl}${query}`;
    if (!signature || !twilio.validateRequest(o.authToken, signature, url, params)) {
      reply(403, 'forbidden', 'invalid or missing X-Twilio-Signature');
      return;
    }
    const notificationId = typeof req.query.notification_id === 'string' ? req.query.notification_id : '';
    const sid = typeof params.MessageSid === 'string' ? params.MessageSid : '';
    const messageStatus = typeof params.MessageStatus === 'string' ? params.MessageStatus : '';
    if (!UUID.test(notificationId)) return reply(400, 'bad_request', 'notification_id query parameter must be a notification uuid');
    if (!MESSAGE_SID.test(sid)) return reply(400, 'bad_request', 'MessageSid is missing or not a Twilio message SID');
    const status = statusFromCallback(messageStatus);
    if (!status) return reply(400, 'bad_request', `MessageStatus "${messageStatus}" is not a known message status`);
    const errorCode = typeof params.ErrorCode === 'string' && params.ErrorCode !== '' ? params.ErrorCode : null;
    try {
      const cur = await o.pool.query('select status, provider_id from public.notifications where id = $1', [notificationId]);
      const row = cur.rows[0];
      if (!row) return reply(404, 'unknown', `notification ${notificationId} does not exist`);
      if (row.provider_id !== null && row.provider_id !== sid) return reply(409, 'conflict', `notification ${notificationId} was sent as ${row.provider_id}, not ${sid}`);
      // Conditional on the rank in SQL too, so two racing callbacks cannot move it backwards.
      await o.pool.query(
        `update public.notifications
            set status = case when (case status ${Object.entries(STATUS_RANK).map(([s, r]) => `when '${s}' then ${r}`).join(' ')} else -1 end) < $3 then $2 else status end,
                provider_id = coalesce(provider_id, $4),
                provider_status = $5,
                accepted_at = coalesce(accepted_at, clock_timestamp()),
                error_code = coalesce($6, error_code),
                error_message = case when $6 is null then error_message else 'provider reported ' || $5 end,
                updated_at = now()
          where id = $1 and status not in ('suppressed', 'digested')`,
        [notificationId, status, STATUS_RANK[status], sid, messageStatus, errorCode],
      );
      return reply(200, advances(row.status as string, status) ? 'updated' : 'stale');
    } catch (err) {
      o.logger.error({ err: errorMessage(err), notification: notificationId }, 'status webhook: update failed');
      return reply(503, 'error', 'temporarily unable to record the status; retry');
    }
  });
  return router;
}
