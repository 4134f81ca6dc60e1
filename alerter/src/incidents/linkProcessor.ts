import type { Config, Isp, LinkStateName, Pool, Reseller } from '@bandwatch/core';
import { evaluateLinkEvent, isSilenced, NONE, type RuleAction, type Subject } from '../rules/index';
import type { AlertFacts } from '../notifiers/formatMessage';
import { applyRule, type AppliedChange, type OpenAlertRow } from './alertStore';
import { recipientsFor } from './recipients';
import { loadActiveSilences } from './evaluator';

export interface LinkEventPayload {
  /** link_events.id; absent when reconciling from link_state. */
  id?: number;
  reseller_ip_id: string;
  reseller_id: string;
  isp_id: string;
  to_state: LinkStateName;
  at?: string;
}

interface LinkContext {
  isp: Isp;
  reseller: Reseller;
  target: string;
}

const DOWN_TRANSITION = `((from_state = 'DOWN') <> (to_state = 'DOWN')) and from_state <> 'UNKNOWN'`;

/**
 * LINK_DOWN / LINK_FLAPPING for one reseller target. Events are processed one
 * at a time (the listener serialises them) so a DOWN and the UP right after
 * cannot overtake each other.
 */
export class LinkProcessor {
  readonly #pool: Pool;
  readonly #config: Config;
  readonly #channel: string;
  readonly #onChange: (c: AppliedChange) => void;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(pool: Pool, config: Config, channel: string, onChange: (c: AppliedChange) => void) {
    this.#pool = pool;
    this.#config = config;
    this.#channel = channel;
    this.#onChange = onChange;
  }

  get #ruleCfg() {
    return { flapCount: this.#config.alerting.link.flap_count, flapWindowSeconds: this.#config.alerting.link.flap_window_seconds };
  }

  async #context(resellerIpId: string): Promise<LinkContext | null> {
    const res = await this.#pool.query(
      `select i.id as isp_id, i.slug as isp_slug, i.name as isp_name, i.ops_contacts, i.thresholds as isp_thresholds,
              r.id as reseller_id, r.slug, r.name, r.committed_mbps, r.contacts, r.thresholds, ip.address, ip.label
         from public.reseller_ips ip join public.resellers r on r.id = ip.reseller_id join public.isps i on i.id = ip.isp_id
        where ip.id = $1`,
      [resellerIpId],
    );
    const r = res.rows[0];
    if (!r) return null;
    return {
      isp: { id: r.isp_id, slug: r.isp_slug, name: r.isp_name, opsContacts: r.ops_contacts, thresholds: r.isp_thresholds },
      reseller: { id: r.reseller_id, ispId: r.isp_id, slug: r.slug, name: r.name, committedMbps: r.committed_mbps, contacts: r.contacts, thresholds: r.thresholds },
      target: r.label ? `${r.label} (${r.address})` : r.address,
    };
  }

  async #openFlags(resellerIpId: string): Promise<{ linkDown: boolean; flapping: boolean }> {
    const res = await this.#pool.query(`select kind from public.alerts where dedup_key = any($1) and status <> 'resolved'`, [
      [`LINK_DOWN:${resellerIpId}`, `LINK_FLAPPING:${resellerIpId}`],
    ]);
    const kinds = new Set(res.rows.map((r) => r.kind as string));
    return { linkDown: kinds.has('LINK_DOWN'), flapping: kinds.has('LINK_FLAPPING') };
  }

  async #apply(ctx: LinkContext, kind: 'LINK_DOWN' | 'LINK_FLAPPING', resellerIpId: string, action: RuleAction, nowMs: number): Promise<AppliedChange | null> {
    if (action.type === 'none') return null;
    const subject: Subject = { kind, dedupKey: `${kind}:${resellerIpId}`, ispId: ctx.isp.id, resellerId: ctx.reseller.id, deviceId: null };
    const silences = await loadActiveSilences(this.#pool, nowMs);
    const change = await applyRule(
      this.#pool,
      {
        subject,
        recipients: recipientsFor(ctx.isp, ctx.reseller),
        silenced: isSilenced(silences, subject, nowMs),
        channel: this.#channel,
        nowMs,
        summary: `${kind} ${ctx.reseller.name} ${ctx.target}`,
        facts: (a, event): AlertFacts => ({
          event,
          kind,
          severity: 'severity' in a ? a.severity : 'RED',
          ispName: ctx.isp.name,
          subjectName: ctx.reseller.name,
          target: ctx.target,
          value: 'value' in a ? a.value : null,
          threshold: 'threshold' in a ? a.threshold : null,
          windowSeconds: this.#ruleCfg.flapWindowSeconds,
          atMs: nowMs,
        }),
      },
      // Re-checked on the locked row: raise only what is not open, resolve only what is.
      (open) => (action.type === 'fire' ? (open ? NONE : action) : open ? action : NONE),
    );
    if (change) this.#onChange(change);
    return change;
  }

  /** Runs link work one piece at a time: NOTIFY handling, the tick's reconcile and flap recovery never interleave. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** One link transition from the collector (NOTIFY bandwatch_link_events). */
  processEvent(evt: LinkEventPayload, nowMs = Date.now()): Promise<AppliedChange[]> {
    return this.#exclusive(() => this.#processEvent(evt, nowMs));
  }

  async #processEvent(evt: LinkEventPayload, nowMs: number): Promise<AppliedChange[]> {
    const ctx = await this.#context(evt.reseller_ip_id);
    if (!ctx) return [];
    // Judge the event as of when it happened, counting only transitions up to it:
    // a backlog processed late must page exactly as it would have live.
    const parsed = evt.at ? Date.parse(evt.at) : Number.NaN;
    const eventMs = Number.isFinite(parsed) ? parsed : nowMs;
    const windowStart = eventMs / 1000 - this.#ruleCfg.flapWindowSeconds;
    const tr = await this.#pool.query(
      `select extract(epoch from at) * 1000 as at_ms from public.link_events
        where reseller_ip_id = $1 and at > to_timestamp($2) and ($3::bigint is null or id <= $3) and ${DOWN_TRANSITION}`,
      [evt.reseller_ip_id, windowStart, evt.id ?? null],
    );
    const transitions = tr.rows.map((r) => Number(r.at_ms));
    const decision = evaluateLinkEvent(evt.to_state, await this.#openFlags(evt.reseller_ip_id), transitions, eventMs, this.#ruleCfg);
    const out: AppliedChange[] = [];
    // Flapping first: its message explains why the up/down messages stop.
    for (const [kind, action] of [['LINK_FLAPPING', decision.flapping], ['LINK_DOWN', decision.linkDown]] as const) {
      const c = await this.#apply(ctx, kind, evt.reseller_ip_id, action, eventMs);
      if (c) out.push(c);
    }
    return out;
  }

  /**
   * Safety net for NOTIFYs missed while disconnected or stopped: the current
   * link_state decides which LINK_DOWN incidents must be open.
   */
  reconcile(nowMs = Date.now()): Promise<AppliedChange[]> {
    return this.#exclusive(() => this.#reconcile(nowMs));
  }

  async #reconcile(nowMs: number): Promise<AppliedChange[]> {
    const res = await this.#pool.query(
      `select ls.reseller_ip_id, ls.reseller_id, ls.isp_id, ls.state, a.id as open_id
         from public.link_state ls
         left join public.alerts a on a.dedup_key = 'LINK_DOWN:' || ls.reseller_ip_id and a.status <> 'resolved'
        where (ls.state = 'DOWN' and a.id is null) or (ls.state not in ('DOWN', 'UNKNOWN') and a.id is not null)`,
    );
    const out: AppliedChange[] = [];
    for (const r of res.rows) {
      out.push(...(await this.#processEvent({ reseller_ip_id: r.reseller_ip_id, reseller_id: r.reseller_id, isp_id: r.isp_id, to_state: r.state }, nowMs)));
    }
    return out;
  }

  recoverFlapping(row: OpenAlertRow, nowMs: number, rule: (lastTransitionMs: number | null) => RuleAction): Promise<AppliedChange | null> {
    return this.#exclusive(() => this.#recoverFlapping(row, nowMs, rule));
  }

  async #recoverFlapping(row: OpenAlertRow, nowMs: number, rule: (lastTransitionMs: number | null) => RuleAction): Promise<AppliedChange | null> {
    const resellerIpId = row.dedupKey.slice('LINK_FLAPPING:'.length);
    const last = await this.#pool.query(`select extract(epoch from max(at)) * 1000 as at_ms from public.link_events where reseller_ip_id = $1 and ${DOWN_TRANSITION}`, [
      resellerIpId,
    ]);
    const lastMs = last.rows[0]?.at_ms === null || last.rows[0]?.at_ms === undefined ? null : Number(last.rows[0].at_ms);
    const action = rule(lastMs);
    if (action.type === 'none') return null;
    const ctx = await this.#context(resellerIpId);
    if (!ctx) return null;
    return this.#apply(ctx, 'LINK_FLAPPING', resellerIpId, action, nowMs);
  }
}
