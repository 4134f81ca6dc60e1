import type { Queryable } from '@bandwatch/core';
import type { BindingResult } from './pollScheduler';

/**
 * Records what the binding step decided on reseller_vlans (the operator owns
 * match_kind/match_value; the collector owns bound_* and binding_error). A
 * rule that lost its interface is unbound, not left pointing at a stale
 * ifIndex. Runs on the service pool (no RLS session): the collector is trusted.
 */
export async function writeBindings(db: Queryable, results: readonly BindingResult[]): Promise<number> {
  if (results.length === 0) return 0;
  const res = await db.query(
    `update public.reseller_vlans as v
        set bound_if_index = r.if_index,
            bound_if_name  = r.if_name,
            binding_error  = r.error,
            bound_at       = case when r.if_index is null then null
                                  when v.bound_if_index is not distinct from r.if_index and v.bound_at is not null then v.bound_at
                                  else now() end
       from unnest($1::uuid[], $2::int[], $3::text[], $4::text[]) as r(id, if_index, if_name, error)
      where v.id = r.id
        and (v.bound_if_index is distinct from r.if_index
             or v.bound_if_name is distinct from r.if_name
             or v.binding_error is distinct from r.error
             or (r.if_index is not null and v.bound_at is null))`,
    [results.map((r) => r.vlanId), results.map((r) => r.ifIndex), results.map((r) => r.ifName), results.map((r) => r.error)],
  );
  return res.rowCount ?? 0;
}
