/*
 * 5-minute (collector.rollup_interval_seconds) usage per reseller, pure.
 * Fed with the reseller aggregates the rate engine produces; a bucket is
 * emitted once its end has passed. A late aggregate for an emitted bucket
 * (a round that closed just after the boundary) marks it dirty and the whole
 * bucket is emitted again at the next tick; the upsert replaces the row, so
 * a bucket is never overwritten by a partial one. Rows that failed to store
 * are simply left dirty and retried.
 */

export interface UsageRow {
  ispId: string;
  resellerId: string;
  bucketStartMs: number;
  avgInMbps: number;
  avgOutMbps: number;
  maxInMbps: number;
  maxOutMbps: number;
  committedMbps: number;
  /** Aggregation rounds with a rate. */
  samples: number;
  /** Aggregation rounds written as a gap. */
  gapSamples: number;
}

interface Bucket {
  ispId: string;
  resellerId: string;
  startMs: number;
  sumInMbps: number;
  sumOutMbps: number;
  maxInMbps: number;
  maxOutMbps: number;
  committedMbps: number;
  samples: number;
  gapSamples: number;
  dirty: boolean;
}

export class UsageRollup {
  private readonly intervalMs: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(intervalSeconds: number) {
    this.intervalMs = intervalSeconds * 1000;
  }

  bucketStart(wallMs: number): number {
    return Math.floor(wallMs / this.intervalMs) * this.intervalMs;
  }

  /** Next boundary strictly after `wallMs`. */
  nextBoundary(wallMs: number): number {
    return this.bucketStart(wallMs) + this.intervalMs;
  }

  addRate(r: { ispId: string; resellerId: string; committedMbps: number; wallMs: number; inBps: number; outBps: number }): void {
    const b = this.bucket(r.ispId, r.resellerId, r.committedMbps, r.wallMs);
    const inMbps = r.inBps / 1e6;
    const outMbps = r.outBps / 1e6;
    b.sumInMbps += inMbps;
    b.sumOutMbps += outMbps;
    b.maxInMbps = b.samples === 0 ? inMbps : Math.max(b.maxInMbps, inMbps);
    b.maxOutMbps = b.samples === 0 ? outMbps : Math.max(b.maxOutMbps, outMbps);
    b.samples += 1;
  }

  addGap(r: { ispId: string; resellerId: string; committedMbps: number; wallMs: number }): void {
    this.bucket(r.ispId, r.resellerId, r.committedMbps, r.wallMs).gapSamples += 1;
  }

  /**
   * Rows of buckets that ended at or before `nowWallMs` and changed since they
   * were last taken. Call markStored(rows) after a successful upsert.
   */
  due(nowWallMs: number): UsageRow[] {
    const rows: UsageRow[] = [];
    for (const [key, b] of this.buckets) {
      const end = b.startMs + this.intervalMs;
      if (end > nowWallMs) continue;
      if (b.dirty) rows.push(toRow(b));
      // Two intervals after its end nothing can arrive for a bucket any more.
      else if (end + 2 * this.intervalMs <= nowWallMs) this.buckets.delete(key);
    }
    return rows.sort((a, b) => a.bucketStartMs - b.bucketStartMs || a.resellerId.localeCompare(b.resellerId));
  }

  /** Every bucket with data, ended or not (clean shutdown writes the partial current bucket). */
  all(): UsageRow[] {
    return [...this.buckets.values()].filter((b) => b.dirty).map(toRow);
  }

  /**
   * Resumes a bucket stored by a previous run (restart mid-bucket): its sums
   * are rebuilt from avg × samples so the next upsert covers the whole bucket,
   * not only the part after the restart. Stays clean until new data arrives.
   */
  seed(row: UsageRow): void {
    const k = key(row.resellerId, row.bucketStartMs);
    if (this.buckets.has(k)) return;
    this.buckets.set(k, {
      ispId: row.ispId,
      resellerId: row.resellerId,
      startMs: row.bucketStartMs,
      sumInMbps: row.avgInMbps * row.samples,
      sumOutMbps: row.avgOutMbps * row.samples,
      maxInMbps: row.maxInMbps,
      maxOutMbps: row.maxOutMbps,
      committedMbps: row.committedMbps,
      samples: row.samples,
      gapSamples: row.gapSamples,
      dirty: false,
    });
  }

  markStored(rows: readonly UsageRow[]): void {
    for (const r of rows) {
      const b = this.buckets.get(key(r.resellerId, r.bucketStartMs));
      // Unchanged since it was taken: clean. Changed meanwhile: stays dirty.
      if (b && b.samples === r.samples && b.gapSamples === r.gapSamples) b.dirty = false;
    }
  }

  private bucket(ispId: string, resellerId: string, committedMbps: number, wallMs: number): Bucket {
    const startMs = this.bucketStart(wallMs);
    const k = key(resellerId, startMs);
    let b = this.buckets.get(k);
    if (!b) {
      b = { ispId, resellerId, startMs, sumInMbps: 0, sumOutMbps: 0, maxInMbps: 0, maxOutMbps: 0, committedMbps, samples: 0, gapSamples: 0, dirty: true };
      this.buckets.set(k, b);
    }
    b.committedMbps = committedMbps;
    b.dirty = true;
    return b;
  }
}

function key(resellerId: string, startMs: number): string {
  return `${resellerId}@${startMs}`;
}

function toRow(b: Bucket): UsageRow {
  return {
    ispId: b.ispId,
    resellerId: b.resellerId,
    bucketStartMs: b.startMs,
    avgInMbps: b.samples ? b.sumInMbps / b.samples : 0,
    avgOutMbps: b.samples ? b.sumOutMbps / b.samples : 0,
    maxInMbps: b.maxInMbps,
    maxOutMbps: b.maxOutMbps,
    committedMbps: b.committedMbps,
    samples: b.samples,
    gapSamples: b.gapSamples,
  };
}
