import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createPool, makeConfigSchema, migrate, silentLogger, type Config, type Pool } from '@bandwatch/core';
import { makeTempDir, requireBinary, startInflux, startPostgres } from '@bandwatch/core/testing';
import { createSeriesWriter } from '../collector/src/influx/influxWriter';
import { startPingMonitor, type RoundSummary } from '../collector/src/ping/index';

/*
 * Ping benchmark. 10,000 loopback targets (127.1.0.1 … 127.1.39.250) in the
 * inventory of a real Postgres, probed every 10 s by the ping monitor exactly
 * as the collector runs it (fping backend, 3 probes, results to Postgres,
 * InfluxDB and a prom-client registry), side by side with fping alone on the
 * same list with the same arguments in the same run; then the `ping` backend
 * on 500 targets. CPU of the monitor = this process + its fping/ping children
 * (cutime/cstime), so the comparison with fping alone is like for like.
 * Prints a table; asserts nothing.
 */

const TARGETS = 10_000;
const PING_TARGETS = 500;
// Rounds are noisy (a major GC lands in some, not others): 6 measured rounds, or BANDWATCH_BENCH_PING_ROUNDS.
const ROUNDS = Number(process.env.BANDWATCH_BENCH_PING_ROUNDS ?? 6);
const PROBES = 3;

const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** CPU of this process and of its reaped children, in ms. */
function cpuMs(): { self: number; children: number } {
  const u = process.cpuUsage();
  // /proc/self/stat: fields after the ")" of comm; cutime, cstime are the 14th and 15th of those.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { self: (u.user + u.system) / 1000, children: (Number(f[13]) + Number(f[14])) * TICK_MS };
}

function addresses(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) out.push(`127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`);
  return out;
}

interface Row {
  runner: string;
  targets: number;
  rounds: number;
  roundWallS: number;
  cpuMsPerRound: number;
  rssMb: number;
  lostPct: number;
  /** CPU of one /metrics scrape of the final state (monitor rows only). */
  scrapeCpuMs?: number;
}

async function seed(pool: Pool, list: string[]): Promise<void> {
  await pool.query('delete from public.reseller_ips');
  await pool.query('delete from public.resellers');
  await pool.query('delete from public.isps');
  const isp = (await pool.query<{ id: string }>("insert into public.isps (slug, name) values ('bench', 'Bench') returning id")).rows[0]?.id;
  const resellers = (
    await pool.query<{ id: string }>(
      "insert into public.resellers (isp_id, slug, name, committed_mbps) select $1, 'r-' || g, 'R ' || g, 100 from generate_series(1, 100) g returning id",
      [isp],
    )
  ).rows.map((r) => r.id);
  await pool.query('insert into public.reseller_ips (isp_id, reseller_id, address) select $1, (($2::uuid[])[1 + (n % 100)]), a from unnest($3::text[]) with ordinality as u(a, n)', [
    isp,
    resellers,
    list,
  ]);
}

async function runMonitor(cfg: Config, pool: Pool, label: string, targets: number, rounds: number): Promise<Row> {
  // BANDWATCH_BENCH_PING_WRITER=discard swaps the InfluxDB writer for one that
  // drops points, to show how much of the monitor's CPU is the writer's.
  const writer =
    process.env.BANDWATCH_BENCH_PING_WRITER === 'discard'
      ? { write: () => undefined, flush: async () => undefined, close: async () => undefined }
      : createSeriesWriter(cfg, silentLogger());
  const summaries: Array<{ s: RoundSummary; cpu: { self: number; children: number }; rss: number }> = [];
  const registry = new Registry();
  let scrapeBytes = 0;
  let wake: (() => void) | undefined;
  let maxRss = 0;
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage().rss)), 250);
  const monitor = startPingMonitor({
    config: cfg,
    pool,
    writer,
    registry,
    logger: silentLogger(),
    getResellerRate: () => undefined,
    onRound: (s) => {
      summaries.push({ s, cpu: cpuMs(), rss: process.memoryUsage().rss });
      wake?.();
    },
  });
  // Round 1 is warm-up (JIT, first link_state rows, 10k UNKNOWN→UP events); measure the next `rounds`.
  while (summaries.length < rounds + 1) await new Promise<void>((r) => (wake = r));
  await monitor.stop();
  await writer.close();
  // Prometheus scrapes on its own clock; measure one scrape of the final state apart from the rounds.
  const before = cpuMs();
  const SCRAPES = 3;
  for (let i = 0; i < SCRAPES; i++) scrapeBytes = (await registry.metrics()).length;
  const scrapeCpuMs = (cpuMs().self - before.self) / SCRAPES;
  clearInterval(sampler);
  const first = summaries[0] as (typeof summaries)[number];
  const last = summaries[rounds] as (typeof summaries)[number];
  const cpu = last.cpu.self - first.cpu.self + (last.cpu.children - first.cpu.children);
  const measured = summaries.slice(1);
  const views = monitor.states().targets;
  const sent = views.reduce((s, v) => s + v.sent, 0);
  const received = views.reduce((s, v) => s + v.received, 0);
  if (measured.some((m) => m.s.failed)) console.warn(`${label}: a round failed: ${measured.find((m) => m.s.failed)?.s.failed}`);
  console.log(
    `  ${label}: CPU per round ${((last.cpu.self - first.cpu.self) / rounds).toFixed(0)} ms in this process + ${((last.cpu.children - first.cpu.children) / rounds).toFixed(0)} ms in its ${label.includes('(ping backend)') ? 'ping' : 'fping'} children`,
  );
  console.log(`  ${label}: /metrics scrape ${(scrapeBytes / 2 ** 20).toFixed(1)} MB, ${scrapeCpuMs.toFixed(0)} ms CPU each; warm-up round ${(first.s.durationMs / 1000).toFixed(2)} s; measured rounds ${measured.map((m) => (m.s.durationMs / 1000).toFixed(2)).join(', ')} s`);
  return {
    runner: label,
    targets,
    rounds,
    roundWallS: measured.reduce((s, m) => s + m.s.durationMs, 0) / rounds / 1000,
    cpuMsPerRound: cpu / rounds,
    rssMb: maxRss / 2 ** 20,
    lostPct: sent ? (100 * (sent - received)) / sent : NaN,
    scrapeCpuMs,
  };
}

function runFpingAlone(list: string[], rounds: number, args: string[]): Row {
  const time = requireBinary('/usr/bin/time', 'time');
  let wall = 0;
  let cpu = 0;
  let rss = 0;
  let sent = 0;
  let lost = 0;
  for (let i = 0; i < rounds; i++) {
    const r = spawnSync(time, ['-f', 'TIME %e %U %S %M', 'fping', ...args, '-f', '-'], { input: list.join('\n') + '\n', encoding: 'utf8', maxBuffer: 64 << 20 });
    const t = /^TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/m.exec(r.stderr);
    if (!t) throw new Error(`fping alone: ${r.stderr.slice(-300)}`);
    wall += Number(t[1]);
    cpu += (Number(t[2]) + Number(t[3])) * 1000;
    rss = Math.max(rss, Number(t[4]) / 1024);
    for (const line of r.stderr.split('\n')) {
      const m = /^\S+\s+: (.+)$/.exec(line);
      if (!m) continue;
      const v = (m[1] as string).trim().split(/\s+/);
      sent += v.length;
      lost += v.filter((x) => x === '-').length;
    }
  }
  return { runner: 'fping alone', targets: list.length, rounds, roundWallS: wall / rounds, cpuMsPerRound: cpu / rounds, rssMb: rss, lostPct: (100 * lost) / sent };
}

function table(rows: Row[], reference: Row, intervalS: number): void {
  const perProbe = (r: Row) => (r.cpuMsPerRound * 1000) / (r.targets * PROBES);
  const head = ['runner', 'targets', 'rounds', 'round wall s', 'targets/s in round', 'CPU ms/round', 'CPU µs/probe', `% core @${intervalS}s`, 'RSS MB', 'lost %', 'CPU/probe vs fping alone'];
  const body = rows.map((r) => [
    r.runner,
    String(r.targets),
    String(r.rounds),
    r.roundWallS.toFixed(2),
    Math.round(r.targets / r.roundWallS).toLocaleString('en-US'),
    r.cpuMsPerRound.toFixed(0),
    perProbe(r).toFixed(1),
    ((100 * r.cpuMsPerRound) / (intervalS * 1000)).toFixed(1),
    r.rssMb.toFixed(1),
    r.lostPct.toFixed(2),
    `${(perProbe(r) / perProbe(reference)).toFixed(2)}x`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
}

export async function run(): Promise<void> {
  requireBinary('fping', 'fping');
  const spool = makeTempDir('bench-ping-spool');
  const [pg, influx] = await Promise.all([startPostgres(), startInflux({ database: 'bandwatch' })]);
  const pool = createPool({ url: pg.url, application_name: 'bench-ping' });
  try {
    await migrate(pool);
    const list = addresses(TARGETS);
    await seed(pool, list);
    const rssBefore = process.memoryUsage().rss / 2 ** 20;
    const cfg = (backend: 'fping' | 'ping') =>
      makeConfigSchema({}).parse({
        postgres: { url: pg.url },
        influx: { url: influx.url, api: 'v1', database: 'bandwatch', spool: { dir: spool } },
        // 500 ping processes of ~2 s each need ~100 at once to fit a 10 s round (the default is 64).
        ping: { backend, interval_seconds: 10, probes: PROBES, timeout_ms: 1000, max_concurrent_processes: 200 },
      });
    console.log(`ping bench: ${TARGETS} loopback targets, ${PROBES} probes each, every 10 s (bench process RSS before the monitor: ${rssBefore.toFixed(1)} MB)`);
    const monitor = await runMonitor(cfg('fping'), pool, 'monitor (fping backend)', TARGETS, ROUNDS);
    // The arguments the monitor gave fping for this list (see pingMonitor probeOptions).
    const alone = runFpingAlone(list, ROUNDS, ['-C', String(PROBES), '-q', '-p', '1000', '-t', '1000', '-i', '0']);
    const withScrape: Row = { ...monitor, runner: 'monitor + 1 scrape/round', cpuMsPerRound: monitor.cpuMsPerRound + (monitor.scrapeCpuMs ?? 0) };
    const rows = [monitor, withScrape, alone];
    // BANDWATCH_BENCH_QUICK=1 skips the slow ping-backend part (for iterating on the fping path).
    if (!process.env.BANDWATCH_BENCH_QUICK) {
      await seed(pool, list.slice(0, PING_TARGETS));
      rows.push(await runMonitor(cfg('ping'), pool, 'monitor (ping backend)', PING_TARGETS, 2));
      const smallFping = runFpingAlone(list.slice(0, PING_TARGETS), 2, ['-C', String(PROBES), '-q', '-p', '1000', '-t', '1000', '-i', '3']);
      smallFping.runner = `fping alone (${PING_TARGETS})`;
      rows.push(smallFping);
    }
    console.log('');
    table(rows, alone, 10);
    console.log('');
    console.log('targets: 10k targets per 10 s at <= 10 % of one core, CPU per probe <= 1.5x fping alone.');
    console.log('CPU of the monitor includes its fping (or ping) child processes; RSS is the whole bench process (Postgres client, InfluxDB writer, registry).');
  } finally {
    await pool.end();
    await Promise.all([pg.stop(), influx.stop()]);
    rmSync(spool, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run();
