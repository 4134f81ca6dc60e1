import pg from 'pg';
import { errorMessage, type Logger } from '@bandwatch/core';

// Fixed key shared by every alerter of one database.
export const ALERTER_LEASE_KEY = 7_415_262_005;

/**
 * Active/standby through a Postgres session advisory lock held on a
 * dedicated connection. The lock dies with the session, so a crashed or
 * partitioned active alerter releases it by itself and a standby takes over.
 * Holding it also proves no other dispatcher is alive, which is what makes
 * resetting orphaned `sending` rows safe.
 */
export class LeaderLease {
  readonly #url: string;
  readonly #logger: Logger;
  #client: pg.Client | null = null;
  #lost: (() => void) | null = null;

  constructor(url: string, logger: Logger) {
    this.#url = url;
    this.#logger = logger;
  }

  /** Resolves true once the lease is held, false when `signal` aborts first. */
  async acquire(signal: AbortSignal, retryMs = 2000, onLost: () => void = () => undefined): Promise<boolean> {
    let announced = false;
    while (!signal.aborted) {
      const client = new pg.Client({ connectionString: this.#url, application_name: 'bandwatch-alerter-lease' });
      client.on('error', (err) => this.#logger.warn({ err: errorMessage(err) }, 'lease connection error'));
      try {
        await client.connect();
        const r = await client.query('select pg_try_advisory_lock($1) as ok', [ALERTER_LEASE_KEY]);
        if (r.rows[0]?.ok === true) {
          this.#client = client;
          this.#lost = onLost;
          client.once('end', () => {
            if (this.#client === client) {
              this.#client = null;
              this.#logger.error('lease connection lost: stepping down');
              this.#lost?.();
            }
          });
          return true;
        }
        if (!announced) this.#logger.info('another alerter holds the lease: standing by');
        announced = true;
      } catch (err) {
        this.#logger.warn({ err: errorMessage(err) }, 'lease: cannot reach postgres');
      }
      await client.end().catch(() => undefined);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, retryMs);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
    return false;
  }

  get held(): boolean {
    return this.#client !== null;
  }

  async release(): Promise<void> {
    const c = this.#client;
    this.#client = null;
    if (!c) return;
    await c.query('select pg_advisory_unlock($1)', [ALERTER_LEASE_KEY]).catch(() => undefined);
    await c.end().catch(() => undefined);
  }
}
