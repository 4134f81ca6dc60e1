import { KindedError, errorMessage, type Queryable } from '@bandwatch/core';
import type { UsageRow } from './usageRollup';

/*
 * usage_5m upsert. Runs on the service pool (table owner / superuser), which
 * RLS does not restrict: the collector writes every tenant's rows, readers
 * see theirs through the API's RLS-scoped sessions. One statement per tick
 * (unnest of arrays) so a tick is all-or-nothing and a retry is safe:
 * re-sending the same rows yields the same table.
 */

const UPSERT = `
insert into public.usage_5m
  (isp_id, reseller_id, bucket_start, avg_in_mbps, avg_out_mbps, max_in_mbps, max_out_mbps, committed_mbps, samples, gap_samples)
select * from unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::numeric[], $9::int[], $10::int[])
on conflict (reseller_id, bucket_start) do update set
  isp_id = excluded.isp_id,
  avg_in_mbps = excluded.avg_in_mbps,
  avg_out_mbps = excluded.avg_out_mbps,
  max_in_mbps = excluded.max_in_mbps,
  max_out_mbps = excluded.max_out_mbps,
  committed_mbps = excluded.committed_mbps,
  samples = excluded.samples,
  gap_samples = excluded.gap_samples,
  updated_at = now()`;

export async function upsertUsage(db: Queryable, rows: readonly UsageRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  try {
    const res = await db.query(UPSERT, [
      rows.map((r) => r.ispId),
      rows.map((r) => r.resellerId),
      rows.map((r) => new Date(r.bucketStartMs).toISOString()),
      rows.map((r) => r.avgInMbps),
      rows.map((r) => r.avgOutMbps),
      rows.map((r) => r.maxInMbps),
      rows.map((r) => r.maxOutMbps),
      rows.map((r) => r.committedMbps),
      rows.map((r) => r.samples),
      rows.map((r) => r.gapSamples),
    ]);
    return res.rowCount ?? rows.length;
  } catch (err) {
    throw new KindedError('storage', `usage_5m upsert of ${rows.length} rows: ${errorMessage(err)}`, { cause: err });
  }
}

/** Rows of one bucket (to resume it after a restart with UsageRollup.seed). */
export async function readUsageBucket(db: Queryable, bucketStartMs: number): Promise<UsageRow[]> {
  const res = await db.query(
    `select isp_id, reseller_id, avg_in_mbps, avg_out_mbps, max_in_mbps, max_out_mbps, committed_mbps, samples, gap_samples
       from public.usage_5m where bucket_start = $1`,
    [new Date(bucketStartMs).toISOString()],
  );
  return res.rows.map((r) => ({
    ispId: r.isp_id,
    resellerId: r.reseller_id,
    bucketStartMs,
    avgInMbps: r.avg_in_mbps,
    avgOutMbps: r.avg_out_mbps,
    maxInMbps: r.max_in_mbps,
    maxOutMbps: r.max_out_mbps,
    committedMbps: Number(r.committed_mbps),
    samples: r.samples,
    gapSamples: r.gap_samples,
  }));
}
