import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyInventory, createLogger, createPool, formatChanges, migrate, type Config, type Logger } from '@bandwatch/core';
import { startInflux, startPostgres, type RunningServer } from '@bandwatch/core/local';

/*
 * `bandwatch demo`: the whole stack on loopback. PostgreSQL and InfluxDB keep
 * their data under DIR (default .data/) so a second run resumes; the
 * simulated routers, collector and alerter run in this process. Every part
 * is stopped in reverse order on Ctrl-C.
 */

export interface DemoOptions {
  configFile: string;
  dataDir: string;
  profileFile: string;
  simulatorControlPort: number;
  signal: AbortSignal;
  out: (line: string) => void;
  exitAfterSeconds?: number;
}

interface Part {
  name: string;
  stop(): Promise<void>;
}

function portOf(url: string, fallback: number): number {
  const p = Number(new URL(url).port);
  return Number.isFinite(p) && p > 0 ? p : fallback;
}

/** Runs a long-lived service that resolves when its signal aborts, as a stoppable part. */
function serviceHandle(name: string, log: Logger, start: (signal: AbortSignal) => Promise<void>): Part {
  const controller = new AbortController();
  const done = start(controller.signal).catch((err: unknown) => {
    log.error({ err }, `${name} stopped with an error`);
  });
  return {
    name,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

export async function runDemo(config: Config, options: DemoOptions): Promise<number> {
  const log = createLogger(config.logging, 'demo');
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const parts: Part[] = [];
  const out = options.out;
  const stopAll = async () => {
    for (const part of parts.reverse()) {
      try {
        await part.stop();
        out(`stopped ${part.name}`);
      } catch (err) {
        log.error({ err }, `stopping ${part.name}`);
      }
    }
  };

  try {
    const pgUrl = new URL(config.postgres.url.reveal());
    const database = pgUrl.pathname.replace(/^\//, '') || 'bandwatch';
    out('starting PostgreSQL …');
    const pg = await startPostgres({ dir: join(dataDir, 'postgres'), port: portOf(pgUrl.href, 55432), database });
    parts.push(asPart('postgres', pg));

    out('starting InfluxDB …');
    const influxDb = config.influx.database ?? config.influx.bucket ?? 'bandwatch';
    const influx = await startInflux({ dir: join(dataDir, 'influx'), port: portOf(config.influx.url, 8086), database: influxDb });
    parts.push(asPart('influxdb', influx));

    const pool = createPool(config.postgres);
    try {
      const m = await migrate(pool);
      out(`migrations: ${m.applied.length} applied, ${m.alreadyApplied.length} already applied`);
      const inv = await applyInventory(pool, config.inventory, { defaultSnmpPort: config.snmp.port });
      out(`inventory: ${inv.changes.length === 0 ? 'up to date' : `${inv.changes.length} change(s)`}`);
      for (const line of formatChanges(inv.changes).slice(0, 40)) out(`  ${line}`);
      await pool.query(readFileSync(resolve('supabase/seed.sql'), 'utf8'));
      out('seed: demo users and memberships (supabase/seed.sql)');
    } finally {
      await pool.end();
    }

    const { startSimulator, loadProfile } = await import('@bandwatch/simulator');
    const profile = loadProfile(resolve(options.profileFile));
    const sim = await startSimulator(profile, { logger: log.child({ component: 'simulator' }), controlPort: options.simulatorControlPort });
    parts.push({ name: 'simulator', stop: () => sim.stop() });

    const { runCollector, loopbackDown, loopbackUp, blackholedLoopbacks } = await import('@bandwatch/collector');
    const scenario = linkScenario({ loopbackDown, loopbackUp, blackholedLoopbacks }, out);
    parts.push(scenario);
    parts.push(serviceHandle('collector', log, (signal) => runCollector(config, { logger: createLogger(config.logging, 'collector'), signal })));

    const { runAlerter } = await import('@bandwatch/alerter');
    parts.push(serviceHandle('alerter', log, (signal) => runAlerter(config, { logger: createLogger(config.logging, 'alerter'), signal })));

    out('');
    out('Bandwatch demo is running:');
    out(`  PostgreSQL        ${pgUrl.href.replace(/\/\/[^@]*@/, '//postgres@')}  (psql "${pg.url}")`);
    out(`  InfluxDB          ${influx.url}  database "${influxDb}"`);
    for (const d of sim.devices) out(`  simulated router  ${d.name} on udp 127.0.0.1:${d.port}`);
    out(`  simulator control ${sim.controlUrl}`);
    out(`  collector         http://${config.collector.http.listen}:${config.collector.http.port}/metrics  /healthz`);
    out(`  alerter           http://${config.alerting.http.listen}:${config.alerting.http.port}/metrics  /healthz`);
    out('');
    out('Try:');
    out(`  curl -s http://${config.collector.http.listen}:${config.collector.http.port}/metrics | grep bandwatch_reseller`);
    out(`  influx -host 127.0.0.1 -port ${influx.port} -database ${influxDb} -execute 'select * from reseller_rate order by time desc limit 5'`);
    out(`  link scenario     ${scenario.description}`);
    out('Ctrl-C stops everything.');

    await new Promise<void>((resolveWait) => {
      if (options.signal.aborted) resolveWait();
      options.signal.addEventListener('abort', () => resolveWait(), { once: true });
      if (options.exitAfterSeconds !== undefined) setTimeout(resolveWait, options.exitAfterSeconds * 1000).unref();
    });
    out('stopping …');
    await stopAll();
    return 0;
  } catch (err) {
    out(`demo failed: ${(err as Error).message}`);
    await stopAll();
    return 1;
  }
}

interface LinkControl {
  loopbackDown(address: string): void;
  loopbackUp(address: string): void;
  blackholedLoopbacks(): string[];
}

/** The demo reseller whose link goes down and comes back, so LINK_DOWN and its recovery show up. */
export const DEMO_LINK = { address: '127.0.2.20', downAfterSeconds: 120, upAfterSeconds: 240 };

/**
 * Takes DEMO_LINK down and back for real (a /32 blackhole route in the local
 * table; root only), and always restores it on stop. A route left behind by a
 * killed demo is removed at the next start.
 */
function linkScenario(control: LinkControl, out: (line: string) => void): Part & { description: string } {
  const { address, downAfterSeconds, upAfterSeconds } = DEMO_LINK;
  const manual = `npx tsx collector/src/ping/linkControl.ts down|up ${address}`;
  if (process.getuid?.() !== 0) {
    return { name: 'link scenario', description: `off (needs root); by hand: sudo ${manual}`, stop: async () => undefined };
  }
  for (const a of control.blackholedLoopbacks()) if (a === address) control.loopbackUp(a);
  const run = (what: 'down' | 'up') => () => {
    try {
      if (what === 'down') control.loopbackDown(address);
      else control.loopbackUp(address);
      out(`link scenario: ${address} is ${what === 'down' ? 'DOWN (blackholed)' : 'back UP'}`);
    } catch (err) {
      out(`link scenario: ${(err as Error).message}`);
    }
  };
  const timers = [setTimeout(run('down'), downAfterSeconds * 1000), setTimeout(run('up'), upAfterSeconds * 1000)];
  return {
    name: 'link scenario',
    description: `${address} (echo-broadband) goes down at +${downAfterSeconds} s and returns at +${upAfterSeconds} s; by hand: ${manual}`,
    async stop() {
      for (const t of timers) clearTimeout(t);
      control.loopbackUp(address);
    },
  };
}

function asPart(name: string, server: RunningServer): Part {
  return { name, stop: () => server.stop() };
}
