import { withTransaction, type AlertStatus, type Pool, type PoolClient, type Queryable, type Severity } from '@bandwatch/core';
import type { OpenIncident, RuleAction, Subject } from '../rules/types';
import { formatAlertMessage, type AlertEventType, type AlertFacts } from '../notifiers/formatMessage';
import type { Recipient } from './recipients';

export interface OpenAlertRow {
  id: string;
  dedupKey: string;
  kind: string;
  status: 'pending' | 'firing';
  severity: Severity;
  pendingSinceMs: number | null;
  startedAtMs: number;
  details: { notified?: boolean; [k: string]: unknown };
}

const OPEN_COLUMNS = `id, dedup_key, kind, status, severity, extract(epoch from pending_since) * 1000 as pending_since_ms,
  extract(epoch from started_at) * 1000 as started_at_ms, details`;

function toRow(r: Record<string, unknown>): OpenAlertRow {
  return {
    id: r.id as string,
    dedupKey: r.dedup_key as string,
    kind: r.kind as string,
    status: r.status as 'pending' | 'firing',
    severity: r.severity as Severity,
    pendingSinceMs: r.pending_since_ms === null ? null : Number(r.pending_since_ms),
    startedAtMs: Number(r.started_at_ms),
    details: (r.details ?? {}) as OpenAlertRow['details'],
  };
}

export function toOpenIncident(row: OpenAlertRow | undefined | null): OpenIncident | null {
  return row ? { status: row.status, severity: row.severity, pendingSinceMs: row.pendingSinceMs } : null;
}

/** Every open incident, keyed by dedup key: the state rules start from after a restart. */
export async function loadOpenAlerts(db: Queryable): Promise<Map<string, OpenAlertRow>> {
  const res = await db.query(`select ${OPEN_COLUMNS} from public.alerts where status <> 'resolved'`);
  return new Map(res.rows.map((r) => [r.dedup_key as string, toRow(r)]));
}

export interface ChangeContext {
  subject: Subject;
  recipients: Recipient[];
  /** A maintenance window covers the subject: record everything, send nothing. */
  silenced: boolean;
  channel: string;
  nowMs: number;
  summary: string;
  /** Facts for the message, given the action being applied. */
  facts: (action: RuleAction, eventType: AlertEventType) => AlertFacts;
}

export interface AppliedChange {
  kind: Subject['kind'];
  alertId: string;
  eventId: number;
  action: RuleAction;
  fromStatus: AlertStatus | null;
  toStatus: AlertStatus;
  notificationIds: string[];
}

function eventTypeOf(action: RuleAction): AlertEventType | null {
  switch (action.type) {
    case 'fire':
      return 'raise';
    case 'escalate':
    case 'deescalate':
    case 'resolve':
      return action.type;
    default:
      return null;
  }
}

/**
 * Applies what a rule decides to one subject, in ONE transaction: the alert
 * row, its alert_events entry and the outbox rows it causes commit together
 * or not at all. The rule is evaluated again on the row locked here, so two
 * evaluations racing on one subject cannot both raise it.
 */
export async function applyRule(
  pool: Pool,
  ctx: ChangeContext,
  evaluate: (open: OpenIncident | null, row: OpenAlertRow | null) => RuleAction,
): Promise<AppliedChange | null> {
  return withTransaction(pool, async (c) => {
    const locked = await c.query(`select ${OPEN_COLUMNS} from public.alerts where dedup_key = $1 and status <> 'resolved' for update`, [ctx.subject.dedupKey]);
    const row = locked.rows[0] ? toRow(locked.rows[0]) : null;
    const action = evaluate(toOpenIncident(row), row);
    if (action.type === 'none') return null;
    return writeChange(c, ctx, row, action);
  });
}

async function writeChange(c: PoolClient, ctx: ChangeContext, row: OpenAlertRow | null, action: Exclude<RuleAction, { type: 'none' }>): Promise<AppliedChange> {
  const s = ctx.subject;
  const at = ctx.nowMs / 1000;
  const eventType = eventTypeOf(action);
  const previouslyNotified = row?.details.notified === true;
  // Resolutions go only to people who heard about the raise; flap-suppressed
  // and silenced raises end as quietly as they started.
  const wantsNotify =
    eventType === null
      ? false
      : action.type === 'resolve'
        ? action.notify && previouslyNotified
        : action.type === 'fire'
          ? action.notify
          : true;
  const notify = wantsNotify && !ctx.silenced;
  const notified = action.type === 'resolve' ? previouslyNotified : previouslyNotified || notify;
  const value = 'value' in action ? action.value : null;
  const threshold = 'threshold' in action ? action.threshold : null;

  let alertId: string;
  let fromStatus: AlertStatus | null = row?.status ?? null;
  let fromSeverity: Severity | null = row?.severity ?? null;
  let toStatus: AlertStatus;
  let toSeverity: Severity;
  if (row === null) {
    if (action.type !== 'pending' && action.type !== 'fire') throw new Error(`${s.dedupKey}: ${action.type} without an open incident`);
    toStatus = action.type === 'pending' ? 'pending' : 'firing';
    toSeverity = action.severity;
    const ins = await c.query(
      `insert into public.alerts (isp_id, reseller_id, device_id, kind, severity, status, dedup_key, started_at, pending_since, last_value, threshold, summary, details, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8), to_timestamp($8), $9, $10, $11, $12, now()) returning id`,
      [s.ispId, s.resellerId, s.deviceId, s.kind, toSeverity, toStatus, s.dedupKey, at, value, threshold, ctx.summary, { notified }],
    );
    alertId = ins.rows[0].id as string;
    fromStatus = null;
    fromSeverity = null;
  } else {
    alertId = row.id;
    toSeverity = 'severity' in action ? action.severity : row.severity;
    toStatus = action.type === 'resolve' || action.type === 'cancel' ? 'resolved' : action.type === 'pending' ? 'pending' : 'firing';
    await c.query(
      `update public.alerts set status = $2, severity = $3, last_value = coalesce($4, last_value), threshold = coalesce($5, threshold),
         resolved_at = case when $2 = 'resolved' then to_timestamp($6) else null end,
         started_at = case when status = 'pending' and $2 = 'firing' then to_timestamp($6) else started_at end,
         summary = $7, details = details || $8::jsonb, updated_at = now()
       where id = $1`,
      [alertId, toStatus, toSeverity, value, threshold, at, ctx.summary, { notified, ...(action.type === 'cancel' ? { cancelled: true } : {}) }],
    );
  }

  const facts = eventType ? ctx.facts(action, eventType) : null;
  const message = facts ? formatAlertMessage(facts) : null;
  const ev = await c.query(
    `insert into public.alert_events (alert_id, isp_id, reseller_id, at, from_status, to_status, from_severity, to_severity, value, message)
     values ($1, $2, $3, to_timestamp($4), $5, $6, $7, $8, $9, $10) returning id`,
    [alertId, s.ispId, s.resellerId, at, fromStatus, toStatus, fromSeverity, toSeverity, value, message?.body ?? `${action.type}: ${ctx.summary}`],
  );
  const eventId = Number(ev.rows[0].id);

  const notificationIds: string[] = [];
  if (message && wantsNotify) {
    for (const r of ctx.recipients) {
      const n = await c.query(
        `insert into public.notifications (alert_id, alert_event_id, isp_id, reseller_id, channel, recipient, audience, template_key, variables, body, status)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id`,
        [alertId, eventId, s.ispId, s.resellerId, ctx.channel, r.number, r.audience, message.templateKey, message.variables, message.body, notify ? 'pending' : 'suppressed'],
      );
      notificationIds.push(n.rows[0].id as string);
    }
  }
  return { kind: s.kind, alertId, eventId, action, fromStatus, toStatus, notificationIds };
}
