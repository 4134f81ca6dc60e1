import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool } from './pool';

export const MIGRATIONS_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../supabase/migrations');

export interface Migration {
  version: string;
  name: string;
  file: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{14}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => {
      const [, version = '', name = ''] = /^(\d{14})_(.+)\.sql$/.exec(f) ?? [];
      return { version, name, file: join(dir, f) };
    });
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

// Any fixed key: only one migrator may run at a time across processes.
const LOCK_KEY = 7_415_262_001;

/**
 * Applies pending migrations in order, each in its own transaction, and
 * records them in the table the Supabase CLI uses, so `supabase db push` and
 * `bandwatch migrate` agree about what has run.
 */
export async function migrate(pool: Pool, dir = MIGRATIONS_DIR): Promise<MigrateResult> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query('create schema if not exists supabase_migrations');
    await client.query(
      'create table if not exists supabase_migrations.schema_migrations (version text primary key, statements text[], name text)',
    );
    const done = new Set(
      (await client.query<{ version: string }>('select version from supabase_migrations.schema_migrations')).rows.map((r) => r.version),
    );
    const result: MigrateResult = { applied: [], alreadyApplied: [] };
    for (const m of listMigrations(dir)) {
      if (done.has(m.version)) {
        result.alreadyApplied.push(`${m.version}_${m.name}`);
        continue;
      }
      const sql = readFileSync(m.file, 'utf8');
      try {
        await client.query('begin');
        await client.query(sql);
        await client.query('insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)', [
          m.version,
          m.name,
          [sql],
        ]);
        await client.query('commit');
      } catch (cause) {
        await client.query('rollback').catch(() => undefined);
        throw new Error(`migration ${m.version}_${m.name} failed: ${(cause as Error).message}`, { cause });
      }
      result.applied.push(`${m.version}_${m.name}`);
    }
    return result;
  } finally {
    await client.query('select pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
