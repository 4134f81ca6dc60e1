import pg from 'pg';
import type { Secret } from '../config/secret';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that runs a query: a pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

// Postgres returns int8/numeric as strings to protect precision; our counts fit
// in a double and committed rates are small decimals, so parse them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export interface PoolOptions {
  url: Secret | string;
  pool_max?: number;
  statement_timeout_ms?: number;
  application_name?: string;
}

export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: typeof options.url === 'string' ? options.url : options.url.reveal(),
    max: options.pool_max ?? 10,
    statement_timeout: options.statement_timeout_ms ?? 15000,
    application_name: options.application_name ?? 'bandwatch',
  });
  // An idle client losing its connection must not crash the process; the pool
  // replaces it and the next query reports the outage where it can be handled.
  pool.on('error', () => undefined);
  return pool;
}

export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export interface JwtClaims {
  sub: string;
  role?: string;
  [claim: string]: unknown;
}

/**
 * Runs `fn` as a signed-in user: `set local role authenticated` plus the JWT
 * claims, exactly as PostgREST does, so row-level security decides what the
 * queries see. Nothing is filtered by tenant in application code.
 */
export async function asUser<T>(pool: Pool, claims: JwtClaims, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (client) => {
    await client.query('set local role authenticated');
    await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ role: 'authenticated', ...claims })]);
    return fn(client);
  });
}

/** Runs `fn` as the anonymous role (no user). */
export async function asAnon<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (client) => {
    await client.query('set local role anon');
    await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ role: 'anon' })]);
    return fn(client);
  });
}
