import { InfluxDB } from '@influxdata/influxdb-client';
import { KindedError, errorMessage, type Config } from '@bandwatch/core';

/*
 * InfluxQL over HTTP (POST /query, epoch=ms). InfluxQL runs on InfluxDB 1.x,
 * 2.x (v1 compatibility API) and 3.x, so readers (alerter, API) use this one
 * client whatever `influx.api` says about writes. Build `q` with influxql.ts.
 */

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface InfluxStatementResult {
  statement_id: number;
  error?: string;
  series?: InfluxSeries[];
}

export interface InfluxQueryOptions {
  url: string;
  /** Database for v1; for 2.x the v1-compatible database mapped to the bucket. */
  database: string;
  retentionPolicy?: string;
  token?: string;
  username?: string;
  password?: string;
  timeoutMs?: number;
}

export class InfluxQueryClient {
  private readonly influx: InfluxDB;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: InfluxQueryOptions) {
    this.influx = new InfluxDB({ url: options.url, timeout: options.timeoutMs ?? 10000 });
    this.headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (options.username) this.headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
    else if (options.token) this.headers.authorization = `Token ${options.token}`;
  }

  /** Runs one or more statements; an error in any statement is thrown as a `storage` error naming it. */
  async query(q: string): Promise<InfluxStatementResult[]> {
    const form = new URLSearchParams({ q, db: this.options.database, epoch: 'ms' });
    if (this.options.retentionPolicy) form.set('rp', this.options.retentionPolicy);
    let body: { results?: InfluxStatementResult[]; error?: string };
    try {
      body = (await this.influx.transport.request('/query', form.toString(), { method: 'POST', headers: this.headers })) as typeof body;
    } catch (err) {
      throw new KindedError('storage', `influx query failed: ${errorMessage(err)}`, { cause: err });
    }
    if (body.error) throw new KindedError('storage', `influx query failed: ${body.error}`);
    const results = body.results ?? [];
    const failed = results.find((r) => r.error);
    if (failed) throw new KindedError('storage', `influx query statement ${failed.statement_id} failed: ${failed.error}`);
    return results;
  }

  /** Rows of the first statement as objects (column → value), tags merged in. */
  async rows(q: string): Promise<Array<Record<string, unknown>>> {
    const [first] = await this.query(q);
    const out: Array<Record<string, unknown>> = [];
    for (const s of first?.series ?? []) {
      for (const v of s.values) {
        const row: Record<string, unknown> = { ...s.tags };
        s.columns.forEach((c, i) => (row[c] = v[i]));
        out.push(row);
      }
    }
    return out;
  }
}

export function createInfluxQueryClient(config: Config): InfluxQueryClient {
  const c = config.influx;
  return new InfluxQueryClient({
    url: c.url,
    database: c.database ?? c.bucket ?? '',
    retentionPolicy: c.retention_policy,
    token: c.token?.reveal(),
    username: c.username,
    password: c.password?.reveal(),
    timeoutMs: c.timeout_ms,
  });
}
