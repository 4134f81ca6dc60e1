import { withTransaction, type LinkStateName, type Pool } from '@bandwatch/core';

/*
 * Postgres side of the monitor: one link_state row per target (upserted each
 * round) and one link_events row per transition. Both go in one transaction so
 * link_state never shows a state whose event is missing; the table's trigger
 * sends the NOTIFY on bandwatch_link_events, so it fires only on commit.
 * Rows are joined to reseller_ips, so a target deleted from the inventory
 * during the round is skipped instead of failing the whole batch.
 */

export interface LinkStateRow {
  resellerIpId: string;
  ispId: string;
  resellerId: string;
  state: LinkStateName;
  sinceMs: number;
  lastRttMs: number | null;
  lastLossPercent: number | null;
  jitterMs: number | null;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastError: string | null;
}

export interface LinkEventRow {
  resellerIpId: string;
  ispId: string;
  resellerId: string;
  fromState: LinkStateName;
  toState: LinkStateName;
  atMs: number;
  rttMs: number | null;
  lossPercent: number | null;
  details: Record<string, unknown>;
}

export async function writeLinkState(pool: Pool, rows: readonly LinkStateRow[], events: readonly LinkEventRow[]): Promise<void> {
  if (rows.length === 0 && events.length === 0) return;
  await withTransaction(pool, async (client) => {
    if (rows.length > 0) {
      // One JSON parameter instead of nine typed arrays: at 10k targets the
      // pg driver's array serialisation cost more CPU than the rest of the round.
      await client.query(
        `insert into public.link_state as ls (reseller_ip_id, isp_id, reseller_id, state, since, last_rtt_ms, last_loss_percent, jitter_ms,
                                             consecutive_failures, consecutive_successes, last_error, updated_at)
         select u.id, ri.isp_id, ri.reseller_id, u.state, to_timestamp(u.since / 1000.0), u.rtt, u.loss, u.jitter, u.failures, u.successes, u.error, now()
           from json_to_recordset($1::json)
                as u(id uuid, state text, since float8, rtt float8, loss float8, jitter float8, failures int, successes int, error text)
           join public.reseller_ips ri on ri.id = u.id
         on conflict (reseller_ip_id) do update set
           isp_id = excluded.isp_id, reseller_id = excluded.reseller_id, state = excluded.state, since = excluded.since,
           last_rtt_ms = excluded.last_rtt_ms, last_loss_percent = excluded.last_loss_percent, jitter_ms = excluded.jitter_ms,
           consecutive_failures = excluded.consecutive_failures, consecutive_successes = excluded.consecutive_successes,
           last_error = excluded.last_error, updated_at = excluded.updated_at`,
        [
          JSON.stringify(
            rows.map((r) => ({
              id: r.resellerIpId,
              state: r.state,
              since: r.sinceMs,
              rtt: r.lastRttMs,
              loss: r.lastLossPercent,
              jitter: r.jitterMs,
              failures: r.consecutiveFailures,
              successes: r.consecutiveSuccesses,
              error: r.lastError,
            })),
          ),
        ],
      );
    }
    if (events.length > 0) {
      await client.query(
        `insert into public.link_events (reseller_ip_id, isp_id, reseller_id, from_state, to_state, at, rtt_ms, loss_percent, details)
         select u.id, ri.isp_id, ri.reseller_id, u.from_state, u.to_state, u.at, u.rtt, u.loss, u.details
           from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::float8[], $6::float8[], $7::jsonb[])
                with ordinality as u(id, from_state, to_state, at, rtt, loss, details, n)
           join public.reseller_ips ri on ri.id = u.id
          order by u.n`,
        [
          events.map((e) => e.resellerIpId),
          events.map((e) => e.fromState),
          events.map((e) => e.toState),
          events.map((e) => new Date(e.atMs).toISOString()),
          events.map((e) => e.rttMs),
          events.map((e) => e.lossPercent),
          events.map((e) => JSON.stringify(e.details)),
        ],
      );
    }
  });
}

export interface StoredLinkState {
  state: LinkStateName;
  sinceMs: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

/** The last stored state of every target, so a restarted collector resumes instead of re-announcing every link. */
export async function readLinkStates(pool: Pool): Promise<Map<string, StoredLinkState>> {
  const r = await pool.query<{ reseller_ip_id: string; state: LinkStateName; since_ms: number; consecutive_failures: number; consecutive_successes: number }>(
    'select reseller_ip_id, state, extract(epoch from since) * 1000 as since_ms, consecutive_failures, consecutive_successes from public.link_state',
  );
  return new Map(
    r.rows.map((row) => [
      row.reseller_ip_id,
      { state: row.state, sinceMs: Number(row.since_ms), consecutiveFailures: row.consecutive_failures, consecutiveSuccesses: row.consecutive_successes },
    ]),
  );
}
