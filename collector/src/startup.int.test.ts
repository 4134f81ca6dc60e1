import { Writable } from 'node:stream';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { applyInventory, createPool, migrate, parseConfig } from '@bandwatch/core';
import { freeTcpPort, makeTempDir, startInflux, startPostgres, waitFor, type InfluxServer, type PostgresServer } from '@bandwatch/core/testing';
import { runCollector } from './main';

/*
 * A collector restarted during a database outage must wait for Postgres,
 * logging and counting each failed try, and start once it is back.
 */

const dir = makeTempDir('collector-startup');
let pg: PostgresServer | undefined;
let influx: InfluxServer | undefined;

afterAll(async () => {
  await pg?.stop();
  await influx?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('collector start while PostgreSQL is down', () => {
  it('retries with backoff, counts the failures, and starts when PostgreSQL comes up', async () => {
    const pgPort = await freeTcpPort();
    influx = await startInflux({ database: 'bw' });
    const config = parseConfig(
      `
postgres: { url: "postgres://postgres@127.0.0.1:${pgPort}/bandwatch" }
influx: { url: "${influx.url}", database: bw, spool: { dir: "${join(dir, 'spool')}" } }
snmp: { auths: { v2: { version: 2c, community: public } } }
collector: { http: { listen: 127.0.0.1, port: ${await freeTcpPort()} } }
inventory: { isps: [{ slug: solo, name: Solo, resellers: [{ slug: r1, name: R1, committed_mbps: 10 }] }] }
`,
      'startup.yaml',
      {},
    );
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    const abort = new AbortController();
    let ready: { httpPort: number } | undefined;
    const running = runCollector(config, { logger, signal: abort.signal, onReady: (r) => (ready = r) });
    try {
      await waitFor('two failed tries', () => lines.filter((l) => l.includes('cannot read the inventory yet')).length >= 2, 15_000);
      expect(ready).toBeUndefined();

      pg = await startPostgres({ port: pgPort });
      const pool = createPool({ url: pg.url });
      await migrate(pool);
      await applyInventory(pool, config.inventory);
      await pool.end();

      const up = await waitFor('collector ready', () => ready, 40_000, 100);
      const metrics = await (await fetch(`http://127.0.0.1:${up.httpPort}/metrics`)).text();
      const failures = /^bandwatch_inventory_refresh_errors_total (\d+)/m.exec(metrics);
      expect(Number(failures?.[1])).toBeGreaterThanOrEqual(2);
    } finally {
      abort.abort();
      await running;
    }
  }, 90_000);
});
