import { HttpError, InfluxDB } from '@influxdata/influxdb-client';
import { KindedError, errorMessage, type Config, type Logger } from '@bandwatch/core';
import type { SeriesPoint, SeriesWriter } from '../contracts';
import { DiskSpool, type DropReport } from './diskSpool';
import { toLine } from './lineProtocol';

/*
 * The real SeriesWriter. Points are batched in memory (batch_size points or
 * flush_interval_ms, whichever first) and sent by ONE sender loop, so batches
 * reach InfluxDB in the order they were cut:
 *
 *   healthy:  batch → memory queue → POST → done
 *   outage:   the failing batch and everything queued behind it go to the
 *             disk spool; while the spool holds anything, new batches are
 *             appended to it too (never sent around it, which would reorder);
 *             the loop retries the spool head with exponential backoff and,
 *             once InfluxDB answers, replays the spool oldest-first, acking
 *             each record only after a 2xx.
 *
 * HTTP goes through @influxdata/influxdb-client's transport (gzip above
 * gzip_threshold_bytes, timeouts, auth) rather than its WriteApi: WriteApi
 * only speaks /api/v2/write (404 on InfluxDB 1.x) and keeps its own in-memory
 * retry buffer, which would hide failures from the durable spool.
 */

export interface WriterHooks {
  /** Points confirmed by InfluxDB. */
  written?(points: number): void;
  /** Points lost: `spool_full` (bound hit) or `rejected` (InfluxDB refused them as invalid). */
  dropped?(points: number, reason: 'spool_full' | 'rejected'): void;
  /** A write attempt failed; `kind` classifies it for metrics. */
  failed?(kind: 'timeout' | 'connection' | 'http_5xx' | 'http_4xx'): void;
  /** Spool size after every change. */
  spool?(bytes: number, points: number): void;
}

export interface InfluxWriterOptions {
  url: string;
  api: 'v1' | 'v2';
  database?: string;
  retentionPolicy?: string;
  org?: string;
  bucket?: string;
  token?: string;
  username?: string;
  password?: string;
  batchSize: number;
  flushIntervalMs: number;
  gzipThresholdBytes: number;
  timeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  spoolDir: string;
  spoolMaxBytes: number;
  /** Test seam for small spools; default derived from spoolMaxBytes. */
  spoolSegmentBytes?: number;
  logger: Logger;
  hooks?: WriterHooks;
}

export interface WriterState {
  /** True while writes fail (the spool is taking the data). */
  failing: boolean;
  lastError: string | undefined;
  lastSuccessWallMs: number | undefined;
  spoolBytes: number;
  spoolPoints: number;
  queuedPoints: number;
  writtenPoints: number;
  droppedPoints: number;
}

interface Batch {
  body: string;
  points: number;
}

/** Lines joined into one flat chunk while a batch is being built. */
const CHUNK_LINES = 256;

type FailureKind = 'timeout' | 'connection' | 'http_5xx' | 'http_4xx';

function classify(err: unknown): { kind: FailureKind; retry: boolean } {
  if (err instanceof HttpError) {
    // 404 on /write means "database not found": an operator can create it,
    // so keep the data. Other 4xx (bad line protocol, field type conflict)
    // will fail identically forever.
    if (err.statusCode >= 500 || [404, 408, 429].includes(err.statusCode)) return { kind: err.statusCode >= 500 ? 'http_5xx' : 'http_4xx', retry: true };
    return { kind: 'http_4xx', retry: false };
  }
  const name = (err as { name?: string } | undefined)?.name;
  if (name === 'RequestTimedOutError' || name === 'AbortError') return { kind: 'timeout', retry: true };
  return { kind: 'connection', retry: true };
}

export class InfluxSeriesWriter implements SeriesWriter {
  private readonly influx: InfluxDB;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private readonly spool: DiskSpool;
  private readonly log: Logger;
  private readonly hooks: WriterHooks;

  // The batch being built: the latest lines, and the older ones already
  // joined into flat chunks. A line held on its own is a tree of small
  // strings; joined early, a few hundred become one flat string, which is
  // what survives until the batch is sent (far less for the GC to copy).
  private recent: string[] = [];
  private chunks: string[] = [];
  private pendingLines = 0;
  private queue: Batch[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private backoffMs = 0;
  private wakeBackoff: (() => void) | undefined;
  private closed = false;
  private state: Omit<WriterState, 'spoolBytes' | 'spoolPoints' | 'queuedPoints'> = {
    failing: false,
    lastError: undefined,
    lastSuccessWallMs: undefined,
    writtenPoints: 0,
    droppedPoints: 0,
  };

  constructor(private readonly options: InfluxWriterOptions) {
    this.log = options.logger;
    this.hooks = options.hooks ?? {};
    this.influx = new InfluxDB({ url: options.url, token: options.api === 'v2' ? options.token : undefined, timeout: options.timeoutMs });
    this.headers = { 'content-type': 'text/plain; charset=utf-8' };
    if (options.api === 'v1') {
      if (!options.database) throw new KindedError('config', 'influx.api v1 needs database');
      const q = new URLSearchParams({ db: options.database, precision: 'ms' });
      if (options.retentionPolicy) q.set('rp', options.retentionPolicy);
      this.path = `/write?${q}`;
      if (options.username) this.headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
      else if (options.token) this.headers.authorization = `Token ${options.token}`;
    } else {
      if (!options.org || !options.bucket) throw new KindedError('config', 'influx.api v2 needs org and bucket');
      this.path = `/api/v2/write?${new URLSearchParams({ org: options.org, bucket: options.bucket, precision: 'ms' })}`;
    }
    this.spool = DiskSpool.open({ dir: options.spoolDir, maxBytes: options.spoolMaxBytes, segmentBytes: options.spoolSegmentBytes });
    this.reportSpool();
    if (this.spool.truncatedBytes > 0) this.log.warn({ bytes: this.spool.truncatedBytes }, 'influx spool: cut a torn last record (crash while appending)');
    if (!this.spool.isEmpty) {
      this.log.warn({ spoolBytes: this.spool.bytes, spoolPoints: this.spool.points }, 'influx spool holds points from a previous run; replaying');
      this.kick();
    }
  }

  write(points: SeriesPoint[]): void {
    if (this.closed) throw new KindedError('internal', 'influx writer: write after close');
    for (const p of points) {
      const line = toLine(p);
      if (line !== undefined) {
        this.recent.push(line);
        this.pendingLines++;
        if (this.recent.length >= CHUNK_LINES) {
          this.chunks.push(this.recent.join('\n'));
          this.recent = [];
        }
      }
      if (this.pendingLines >= this.options.batchSize) this.cut();
    }
    if (this.pendingLines > 0 && !this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.cut();
      }, this.options.flushIntervalMs);
    }
  }

  /** Resolves when every point written so far is either confirmed by InfluxDB or durable in the spool. */
  async flush(): Promise<void> {
    this.cut();
    // Not `await this.sending`: during an outage the loop lives on in backoff,
    // but the queue has already moved to the (durable) spool.
    while (this.queue.length > 0 && this.sending) await new Promise((r) => setTimeout(r, 10));
  }

  /** Flushes and stops; what InfluxDB did not confirm stays in the spool for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    this.wakeBackoff?.();
    if (this.sending) await this.sending;
    // Anything still in memory (close during an outage) must survive the restart.
    this.moveQueueToSpool();
    this.spool.close();
  }

  /** Waits until memory queue AND spool are empty (tests, shutdown reports). */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    await this.flush();
    while (Date.now() < deadline) {
      if (this.queue.length === 0 && this.spool.isEmpty && this.pendingLines === 0) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  stats(): WriterState {
    return {
      ...this.state,
      spoolBytes: this.spool.bytes,
      spoolPoints: this.spool.points,
      queuedPoints: this.queue.reduce((n, b) => n + b.points, 0) + this.pendingLines,
    };
  }

  private cut(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const batch = this.takeBatch();
    if (!batch) return;
    // While the spool holds older data, a new batch queues behind it on disk.
    if (this.state.failing || !this.spool.isEmpty) this.appendToSpool(batch);
    else this.queue.push(batch);
    this.kick();
  }

  /** The lines written since the last batch, as one batch (undefined when there are none). */
  private takeBatch(): Batch | undefined {
    if (this.pendingLines === 0) return undefined;
    if (this.recent.length > 0) this.chunks.push(this.recent.join('\n'));
    const batch: Batch = { body: `${this.chunks.join('\n')}\n`, points: this.pendingLines };
    this.recent = [];
    this.chunks = [];
    this.pendingLines = 0;
    return batch;
  }

  private kick(): void {
    if (this.sending) return;
    this.sending = this.sendLoop()
      .catch((err: unknown) => {
        // The loop itself only fails on a local disk error; log it loudly, it is data at risk.
        this.log.error({ err }, 'influx writer: sender loop failed');
      })
      .finally(() => {
        this.sending = undefined;
        if (!this.closed && (this.queue.length > 0 || (!this.spool.isEmpty && !this.state.failing))) this.kick();
      });
  }

  private async sendLoop(): Promise<void> {
    for (;;) {
      const fromSpool = !this.spool.isEmpty;
      let batch: Batch | undefined;
      try {
        batch = fromSpool ? this.spool.peek() : this.queue[0];
      } catch (err) {
        const lostBytes = this.spool.discardHeadSegment();
        this.log.error({ err: errorMessage(err), lostBytes }, 'influx spool: corrupt record; discarded the rest of its segment');
        this.reportSpool();
        continue;
      }
      if (!batch) return;
      try {
        await this.post(batch.body);
      } catch (err) {
        const { kind, retry } = classify(err);
        this.hooks.failed?.(kind);
        if (!retry) {
          this.log.error({ err: errorMessage(err), points: batch.points }, 'influx rejected a batch as invalid; dropping it');
          this.drop(batch.points, 'rejected');
          this.consume(fromSpool);
          continue;
        }
        if (!this.state.failing) this.log.warn({ err: errorMessage(err), kind }, 'influx unreachable; spooling to disk');
        this.state.failing = true;
        this.state.lastError = errorMessage(err);
        this.moveQueueToSpool();
        if (this.closed) return;
        await this.backoff();
        if (this.closed) return;
        continue;
      }
      if (this.state.failing) this.log.info({ spoolPoints: this.spool.points }, 'influx reachable again; replaying spool');
      this.state.failing = false;
      this.state.lastError = undefined;
      this.state.lastSuccessWallMs = Date.now();
      this.backoffMs = 0;
      this.state.writtenPoints += batch.points;
      this.hooks.written?.(batch.points);
      this.consume(fromSpool);
    }
  }

  private consume(fromSpool: boolean): void {
    if (fromSpool) {
      this.spool.ack();
      this.reportSpool();
    } else {
      this.queue.shift();
    }
  }

  private async post(body: string): Promise<void> {
    await this.influx.transport.request(this.path, body, {
      method: 'POST',
      headers: this.headers,
      gzipThreshold: this.options.gzipThresholdBytes,
    });
  }

  private moveQueueToSpool(): void {
    const pending = this.queue;
    this.queue = [];
    for (const b of pending) this.appendToSpool(b);
    const rest = this.closed ? this.takeBatch() : undefined;
    if (rest) this.appendToSpool(rest);
  }

  private appendToSpool(batch: Batch): void {
    const dropped: DropReport = this.spool.append(batch);
    if (dropped.points > 0) {
      this.log.error(
        { droppedPoints: dropped.points, droppedBytes: dropped.bytes, spoolMaxBytes: this.options.spoolMaxBytes },
        'influx spool full: dropped the oldest points',
      );
      this.drop(dropped.points, 'spool_full');
    }
    this.reportSpool();
  }

  private drop(points: number, reason: 'spool_full' | 'rejected'): void {
    this.state.droppedPoints += points;
    this.hooks.dropped?.(points, reason);
  }

  private reportSpool(): void {
    this.hooks.spool?.(this.spool.bytes, this.spool.points);
  }

  private async backoff(): Promise<void> {
    this.backoffMs = this.backoffMs === 0 ? this.options.retryInitialMs : Math.min(this.backoffMs * 2, this.options.retryMaxMs);
    // Jitter keeps a fleet of collectors from hammering a recovering InfluxDB in step.
    const ms = this.backoffMs * (0.8 + Math.random() * 0.4);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakeBackoff = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wakeBackoff = undefined;
  }
}

/** The writer for `config.influx` (the factory runCollector uses). */
export function createSeriesWriter(config: Config, logger: Logger, hooks?: WriterHooks): InfluxSeriesWriter {
  const c = config.influx;
  return new InfluxSeriesWriter({
    url: c.url,
    api: c.api,
    database: c.database,
    retentionPolicy: c.retention_policy,
    org: c.org,
    bucket: c.bucket,
    token: c.token?.reveal(),
    username: c.username,
    password: c.password?.reveal(),
    batchSize: c.batch_size,
    flushIntervalMs: c.flush_interval_ms,
    gzipThresholdBytes: c.gzip_threshold_bytes,
    timeoutMs: c.timeout_ms,
    retryInitialMs: c.retry_initial_ms,
    retryMaxMs: c.retry_max_ms,
    spoolDir: c.spool.dir,
    spoolMaxBytes: c.spool.max_bytes,
    logger: logger.child({ component: 'influx-writer' }),
    hooks,
  });
}
