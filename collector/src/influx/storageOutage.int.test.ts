import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@bandwatch/core';
import { makeTempDir, sleep, startInflux, type InfluxServer } from '@bandwatch/core/testing';
import type { SeriesPoint } from '../contracts';
import { InfluxQueryClient } from './influxQuery';
import { InfluxSeriesWriter, type InfluxWriterOptions } from './influxWriter';

/*
 * Storage outage against a real InfluxDB 1.6: the server is stopped while
 * points keep coming, then restarted on the same port and data dir.
 *
 * The outage lasts BANDWATCH_OUTAGE_SECONDS (default 20 s to keep CI time
 * sane). The issue asks for 60 s; that was run by hand with
 * `BANDWATCH_OUTAGE_SECONDS=60 npx vitest run collector/src/influx/storageOutage`
 * (figures in the issue note).
 */

const OUTAGE_SECONDS = Number(process.env.BANDWATCH_OUTAGE_SECONDS ?? 20);
const DB = 'bw_outage';
const VLANS = 10;
const POLL_MS = 250;

describe('storage outage', () => {
  let dir: string;
  let influx: InfluxServer;
  let port: number;
  beforeAll(async () => {
    dir = makeTempDir('influx-outage');
    influx = await startInflux({ database: DB, dir });
    port = influx.port;
  });
  afterAll(async () => {
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function options(over: Partial<InfluxWriterOptions> = {}): InfluxWriterOptions {
    return {
      url: `http://127.0.0.1:${port}`,
      api: 'v1',
      database: DB,
      batchSize: 1000,
      flushIntervalMs: 200,
      gzipThresholdBytes: 1000,
      timeoutMs: 1000,
      retryInitialMs: 200,
      retryMaxMs: 2000,
      spoolDir: join(dir, 'spool'),
      spoolMaxBytes: 64 * 1024 * 1024,
      logger: silentLogger(),
      ...over,
    };
  }

  /** One simulated poll: one point per VLAN, `seq` counts polls. */
  function poll(measurement: string, seq: number): SeriesPoint[] {
    const t = Date.now();
    return Array.from({ length: VLANS }, (_, v) => ({
      measurement,
      tags: { isp: 'northwind', reseller: 'acme-net', device: 'nw-edge-1', ifname: `ether1.${v}`, vlan: String(v) },
      fields: { in_bps: seq * 1000 + v, seq: BigInt(seq) },
      timestampMs: t,
    }));
  }

  it(`every point written during a ${OUTAGE_SECONDS} s outage is in InfluxDB afterwards, in order, no duplicates`, async () => {
    const writer = new InfluxSeriesWriter(options());
    let seq = 0;
    let maxSpoolPoints = 0;
    let sawFailing = false;
    let restartedAt = 0;
    let spoolEmptiedAt = 0;
    const producer = setInterval(() => {
      writer.write(poll('outage', seq++));
      const s = writer.stats();
      maxSpoolPoints = Math.max(maxSpoolPoints, s.spoolPoints);
      sawFailing ||= s.failing;
      if (restartedAt && !spoolEmptiedAt && s.spoolPoints === 0) spoolEmptiedAt = Date.now();
    }, POLL_MS);

    await sleep(3000);
    const outageStartSeq = seq;
    await influx.stop();
    const stoppedAt = Date.now();
    await sleep(OUTAGE_SECONDS * 1000);
    influx = await startInflux({ database: DB, dir, port });
    const outageEndSeq = seq;
    restartedAt = Date.now();
    await sleep(3000);
    clearInterval(producer);
    const totalPolls = seq;
    expect(await writer.drained(60_000)).toBe(true);
    const recoveredMs = (spoolEmptiedAt || Date.now()) - restartedAt;
    await writer.close();

    const q = new InfluxQueryClient({ url: influx.url, database: DB });
    const rows = await q.rows('SELECT seq, in_bps FROM outage GROUP BY ifname');
    const outagePoints = (outageEndSeq - outageStartSeq) * VLANS;
    console.log(
      `storage outage ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s: polls=${totalPolls} points written=${totalPolls * VLANS} during outage=${outagePoints} ` +
        `max spooled=${maxSpoolPoints} in InfluxDB=${rows.length} spool empty ${recoveredMs} ms after restart (includes retry backoff)`,
    );
    expect(sawFailing).toBe(true);
    expect(maxSpoolPoints).toBeGreaterThan(outagePoints * 0.9);
    expect(rows.length).toBe(totalPolls * VLANS);
    for (let v = 0; v < VLANS; v++) {
      const series = rows.filter((r) => r.ifname === `ether1.${v}`);
      // Time order equals write order, every poll once: 0, 1, 2, … with no gap and no repeat.
      expect(series.map((r) => r.seq)).toEqual(Array.from({ length: totalPolls }, (_, i) => i));
      expect(series.map((r) => r.in_bps)).toEqual(Array.from({ length: totalPolls }, (_, i) => i * 1000 + v));
    }
    expect(writer.stats()).toMatchObject({ droppedPoints: 0, spoolPoints: 0, spoolBytes: 0 });
  }, (OUTAGE_SECONDS + 90) * 1000);

  it('at the spool bound the oldest points are dropped and counted; the rest survive a collector restart', async () => {
    const dropped: number[] = [];
    const spoolDir = join(dir, 'spool-small');
    const small = options({ spoolDir, spoolMaxBytes: 4096, spoolSegmentBytes: 1024, batchSize: VLANS, hooks: { dropped: (n) => dropped.push(n) } });
    await influx.stop();
    const writer = new InfluxSeriesWriter(small);
    const polls = 60;
    for (let s = 0; s < polls; s++) {
      writer.write(poll('bounded', s));
      await writer.flush();
    }
    const spooled = writer.stats().spoolPoints;
    const droppedPoints = dropped.reduce((a, b) => a + b, 0);
    // The collector stops during the outage; the spool stays on disk.
    await writer.close();
    expect(droppedPoints).toBeGreaterThan(0);
    expect(droppedPoints + spooled).toBe(polls * VLANS);
    expect(writer.stats().droppedPoints).toBe(droppedPoints);

    influx = await startInflux({ database: DB, dir, port });
    const next = new InfluxSeriesWriter(small);
    expect(next.stats().spoolPoints).toBe(spooled);
    expect(await next.drained(30_000)).toBe(true);
    await next.close();
    const rows = await new InfluxQueryClient({ url: influx.url, database: DB }).rows('SELECT seq FROM bounded GROUP BY ifname');
    expect(rows.length).toBe(spooled);
    // What survived is the newest polls, contiguous up to the last one.
    const seqs = [...new Set(rows.map((r) => r.seq as number))].sort((a, b) => a - b);
    const keptPolls = spooled / VLANS;
    expect(seqs).toEqual(Array.from({ length: keptPolls }, (_, i) => polls - keptPolls + i));
  }, 90_000);
});
