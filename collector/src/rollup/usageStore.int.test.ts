import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, migrate, type Pool } from '@bandwatch/core';
import { startPostgres, type PostgresServer } from '@bandwatch/core/testing';
import { UsageRollup } from './usageRollup';
import { readUsageBucket, upsertUsage } from './usageStore';

describe('usage_5m upsert on real Postgres', () => {
  let pg: PostgresServer;
  let pool: Pool;
  let ispId: string;
  let resellerId: string;

  beforeAll(async () => {
    pg = await startPostgres();
    pool = createPool({ url: pg.url });
    await migrate(pool);
    const isp = await pool.query(`insert into public.isps (slug, name) values ('northwind', 'Northwind') returning id`);
    ispId = isp.rows[0].id;
    const r = await pool.query(`insert into public.resellers (isp_id, slug, name, committed_mbps) values ($1, 'acme-net', 'Acme', 200) returning id`, [ispId]);
    resellerId = r.rows[0].id;
  });
  afterAll(async () => {
    await pool?.end();
    await pg?.stop();
  });

  const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

  async function table() {
    const res = await pool.query(
      `select reseller_id, extract(epoch from bucket_start) * 1000 as start_ms, avg_in_mbps, avg_out_mbps, max_in_mbps, max_out_mbps, committed_mbps, samples, gap_samples
         from public.usage_5m order by bucket_start`,
    );
    return res.rows;
  }

  it('is idempotent: the same rows twice give the same table; a re-emitted bucket replaces its row', async () => {
    const rollup = new UsageRollup(300);
    const base = { ispId, resellerId, committedMbps: 200 };
    rollup.addRate({ ...base, wallMs: T0 + 10_000, inBps: 100e6, outBps: 10e6 });
    rollup.addRate({ ...base, wallMs: T0 + 70_000, inBps: 150e6, outBps: 20e6 });
    rollup.addGap({ ...base, wallMs: T0 + 130_000 });
    rollup.addRate({ ...base, wallMs: T0 + 310_000, inBps: 50e6, outBps: 5e6 });
    const rows = rollup.due(T0 + 600_000);
    expect(rows).toHaveLength(2);

    expect(await upsertUsage(pool, rows)).toBe(2);
    const first = await table();
    expect(await upsertUsage(pool, rows)).toBe(2);
    expect(await table()).toEqual(first);
    expect(first).toEqual([
      { reseller_id: resellerId, start_ms: T0, avg_in_mbps: 125, avg_out_mbps: 15, max_in_mbps: 150, max_out_mbps: 20, committed_mbps: 200, samples: 2, gap_samples: 1 },
      { reseller_id: resellerId, start_ms: T0 + 300_000, avg_in_mbps: 50, avg_out_mbps: 5, max_in_mbps: 50, max_out_mbps: 5, committed_mbps: 200, samples: 1, gap_samples: 0 },
    ]);

    rollup.markStored(rows);
    rollup.addRate({ ...base, wallMs: T0 + 299_000, inBps: 200e6, outBps: 0 });
    const again = rollup.due(T0 + 600_000);
    expect(again).toHaveLength(1);
    await upsertUsage(pool, again);
    const after = await table();
    expect(after).toHaveLength(2);
    expect(after[0]).toMatchObject({ avg_in_mbps: 150, max_in_mbps: 200, samples: 3, gap_samples: 1 });
  });

  it('a restart mid-bucket resumes the stored row instead of overwriting it with the remainder', async () => {
    const start = T0 + 3_600_000;
    const base = { ispId, resellerId, committedMbps: 200 };
    const before = new UsageRollup(300);
    before.addRate({ ...base, wallMs: start + 10_000, inBps: 100e6, outBps: 0 });
    before.addRate({ ...base, wallMs: start + 70_000, inBps: 300e6, outBps: 0 });
    // Clean shutdown writes the partial current bucket.
    await upsertUsage(pool, before.all());
    const after = new UsageRollup(300);
    for (const row of await readUsageBucket(pool, start)) after.seed(row);
    after.addRate({ ...base, wallMs: start + 250_000, inBps: 200e6, outBps: 0 });
    after.addGap({ ...base, wallMs: start + 260_000 });
    await upsertUsage(pool, after.due(start + 300_000));
    const [row] = await readUsageBucket(pool, start);
    expect(row).toMatchObject({ avgInMbps: 200, maxInMbps: 300, samples: 3, gapSamples: 1 });
  });

  it('a row for an unknown reseller is a storage error naming the upsert', async () => {
    await expect(
      upsertUsage(pool, [
        { ispId, resellerId: '00000000-0000-0000-0000-000000000001', bucketStartMs: T0, avgInMbps: 1, avgOutMbps: 1, maxInMbps: 1, maxOutMbps: 1, committedMbps: 1, samples: 1, gapSamples: 0 },
      ]),
    ).rejects.toMatchObject({ kind: 'storage', message: expect.stringContaining('usage_5m upsert of 1 rows') });
  });
});
