import { KindedError, type Config } from '@bandwatch/core';

export interface InfluxSeries {
  name: string;
  tags: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** Runs InfluxQL over HTTP (`POST /query`, epoch=ms): works on 1.x and the v1 API of 2.x/3.x. */
export class InfluxReader {
  readonly #url: string;
  readonly #db: string;
  readonly #auth: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(influx: Config['influx']) {
    this.#url = influx.url.replace(/\/$/, '');
    this.#db = influx.database ?? influx.bucket ?? '';
    this.#timeoutMs = influx.timeout_ms;
    this.#auth = {};
    if (influx.token) this.#auth.authorization = `Token ${influx.token.reveal()}`;
    else if (influx.username && influx.password) {
      this.#auth.authorization = `Basic ${Buffer.from(`${influx.username}:${influx.password.reveal()}`).toString('base64')}`;
    }
  }

  async query(q: string): Promise<InfluxSeries[]> {
    const params = new URLSearchParams({ db: this.#db, q, epoch: 'ms' });
    let res: Response;
    try {
      res = await fetch(`${this.#url}/query`, { method: 'POST', body: params, headers: this.#auth, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (cause) {
      throw new KindedError('storage', `influx: query failed to reach ${this.#url}`, { cause });
    }
    const text = await res.text();
    if (!res.ok) throw new KindedError('storage', `influx: query returned ${res.status}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { results?: Array<{ error?: string; series?: Array<Partial<InfluxSeries>> }>; error?: string };
    const first = body.results?.[0];
    if (body.error || first?.error) throw new KindedError('storage', `influx: ${body.error ?? first?.error}`);
    return (first?.series ?? []).map((s) => ({ name: s.name ?? '', tags: s.tags ?? {}, columns: s.columns ?? [], values: s.values ?? [] }));
  }
}

/** The first row of a series as {column: value}. */
export function firstRow(series: InfluxSeries): Record<string, unknown> {
  const row = series.values[0] ?? [];
  return Object.fromEntries(series.columns.map((c, i) => [c, row[i]]));
}
