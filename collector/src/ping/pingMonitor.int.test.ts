import { execFile, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, makeConfigSchema, migrate, silentLogger, type Config, type Pool } from '@bandwatch/core';
import { makeTempDir, startInflux, startPostgres, waitFor, type InfluxServer, type PostgresServer } from '@bandwatch/core/testing';
import { createSeriesWriter } from '../influx/influxWriter';
import { BWP, createBwpTopology, destroyBwpTopology, linkDown, linkUp, shape, unshape, dropEveryNth, stopDropping } from './bwpTopology';
import { startPingMonitor, type PingMonitor, type RoundSummary, type TargetView } from './index';

/*
 * The monitor against a real network: two namespaces behind a bridge (see
 * bwpTopology.ts), real fping / iputils ping, real Postgres (LISTEN on
 * bandwatch_link_events) and a real InfluxDB. Interval 1 s throughout.
 */

const A = BWP.a.address; // 10.99.2.1, behind bwpa0
const B = BWP.b.address; // 10.99.2.2, behind bwpb0

let pgServer: PostgresServer;
let influx: InfluxServer;
let pool: Pool;
let spoolDir: string;
const ids = { isp: '', alpha: '', bravo: '' };

function config(backend: 'fping' | 'ping', ping: Record<string, unknown> = {}): Config {
  return makeConfigSchema({}).parse({
    postgres: { url: pgServer.url },
    influx: { url: influx.url, api: 'v1', database: 'bandwatch', flush_interval_ms: 200, spool: { dir: spoolDir } },
    ping: {
      backend,
      interval_seconds: 1,
      probes: 3,
      timeout_ms: 200,
      down_after_failures: 3,
      up_after_successes: 2,
      degraded: { loss_percent: 20, rtt_ms: 150, rounds: 2 },
      inventory_refresh_seconds: 1,
      ...ping,
    },
  });
}

async function setTargets(targets: Array<{ reseller: 'alpha' | 'bravo'; address: string }>): Promise<void> {
  await pool.query('delete from public.reseller_ips');
  for (const t of targets) {
    await pool.query('insert into public.reseller_ips (isp_id, reseller_id, address) values ($1, $2, $3)', [ids.isp, ids[t.reseller], t.address]);
  }
}

async function ipId(address: string): Promise<string> {
  return (await pool.query<{ id: string }>('select id from public.reseller_ips where address = $1', [address])).rows[0]?.id as string;
}

/** Runs a monitor and records, per round, every target's view right after the round was stored. */
class Recorder {
  readonly rounds: Array<{ summary: RoundSummary; targets: Map<string, TargetView> }> = [];
  monitor!: PingMonitor;
  readonly registry = new Registry();
  private waiters: Array<() => void> = [];

  start(cfg: Config): this {
    const writer = createSeriesWriter(cfg, silentLogger());
    this.writer = writer;
    this.monitor = startPingMonitor({
      config: cfg,
      pool,
      writer,
      registry: this.registry,
      logger: silentLogger(),
      getResellerRate: () => undefined,
      onRound: (summary) => {
        this.rounds.push({ summary, targets: new Map(this.monitor.states().targets.map((t) => [t.target, t])) });
        void this.afterRound?.().then(() => {
          for (const w of this.waiters.splice(0)) w();
        });
        if (!this.afterRound) for (const w of this.waiters.splice(0)) w();
      },
    });
    return this;
  }

  writer?: ReturnType<typeof createSeriesWriter>;
  /** Runs right after each round is recorded (before waiters wake). */
  afterRound?: () => Promise<void>;

  async nextRound(): Promise<number> {
    await new Promise<void>((r) => this.waiters.push(r));
    return this.rounds.length - 1;
  }

  async until(what: string, pred: (t: Map<string, TargetView>) => boolean, timeoutMs = 20000): Promise<number> {
    return waitFor(what, () => {
      const last = this.rounds.at(-1);
      return last && pred(last.targets) ? this.rounds.length - 1 : undefined;
    }, timeoutMs, 20);
  }

  view(round: number, target: string): TargetView {
    return this.rounds[round]?.targets.get(target) as TargetView;
  }

  async stop(): Promise<void> {
    await this.monitor.stop();
    await this.writer?.close();
  }
}

/** Per backend: the transitions seen in the down/up and shaping scenarios, compared at the end. */
const transitionsSeen: Record<string, string[]> = {};

beforeAll(async () => {
  // Topology first: nothing may be sent to 10.99.x before its routes exist.
  createBwpTopology();
  spoolDir = makeTempDir('ping-spool');
  [pgServer, influx] = await Promise.all([startPostgres(), startInflux({ database: 'bandwatch' })]);
  pool = createPool({ url: pgServer.url, application_name: 'ping-int-test' });
  await migrate(pool);
  ids.isp = (await pool.query<{ id: string }>("insert into public.isps (slug, name) values ('bwp-isp', 'BWP ISP') returning id")).rows[0]?.id as string;
  for (const slug of ['alpha', 'bravo'] as const) {
    ids[slug] = (
      await pool.query<{ id: string }>('insert into public.resellers (isp_id, slug, name, committed_mbps) values ($1, $2, $2, 100) returning id', [ids.isp, slug])
    ).rows[0]?.id as string;
  }
  // The network works before any test relies on it.
  const r = spawnSync('fping', ['-C', '1', '-q', '-t', '200', A, B], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
});

afterAll(async () => {
  try {
    destroyBwpTopology();
  } finally {
    await pool?.end();
    await Promise.all([pgServer?.stop(), influx?.stop()]);
    if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
  }
});

describe.each(['fping', 'ping'] as const)('%s backend on a real link', (backend) => {
  it('UP; link down → DOWN on exactly the third failed round with one event and one NOTIFY; link up → UP after 2 good rounds', async () => {
    await setTargets([
      { reseller: 'alpha', address: A },
      { reseller: 'bravo', address: B },
    ]);
    await pool.query('delete from public.link_events');
    const aId = await ipId(A);
    const listener = new pg.Client({ connectionString: pgServer.url });
    const notes: Array<{ reseller_ip_id: string; from_state: string; to_state: string }> = [];
    await listener.connect();
    listener.on('notification', (n) => notes.push(JSON.parse(n.payload ?? '{}')));
    await listener.query('LISTEN bandwatch_link_events');
    const rec = new Recorder().start(config(backend));
    try {
      await rec.until('both UP', (t) => t.get(A)?.state === 'UP' && t.get(B)?.state === 'UP');

      // Inventory changes are followed without a restart.
      await pool.query('insert into public.reseller_ips (isp_id, reseller_id, address) values ($1, $2, $3)', [ids.isp, ids.bravo, '127.0.1.10']);
      await rec.until('added target probed', (t) => t.get('127.0.1.10')?.state === 'UP');
      await pool.query("delete from public.reseller_ips where address = '127.0.1.10'");
      await rec.until('removed target dropped', (t) => !t.has('127.0.1.10'));

      await rec.nextRound();
      linkDown('a');
      const downFrom = rec.rounds.length; // rounds after this index started with the link down
      const downAt = await rec.until('A DOWN', (t) => t.get(A)?.state === 'DOWN');
      // Count failed rounds (no reply at all) up to and including the one that went DOWN.
      const after = rec.rounds.slice(downFrom, downAt + 1).map((r) => r.targets.get(A) as TargetView);
      const firstFailed = after.findIndex((v) => v.received === 0);
      expect(firstFailed).toBeGreaterThanOrEqual(0);
      const failedRun = after.slice(firstFailed);
      expect(failedRun.map((v) => v.received)).toEqual([0, 0, 0]);
      expect(failedRun.map((v) => v.state)).toEqual(['UP', 'UP', 'DOWN']);
      expect(rec.view(downAt, B).state).toBe('UP');
      // A few more rounds: still one event, still one NOTIFY.
      await rec.nextRound();
      await rec.nextRound();
      const downEvents = await pool.query('select from_state, to_state, rtt_ms, loss_percent, details from public.link_events where reseller_ip_id = $1 and to_state = $2', [aId, 'DOWN']);
      expect(downEvents.rows).toHaveLength(1);
      expect(downEvents.rows[0]).toMatchObject({ from_state: 'UP', to_state: 'DOWN', loss_percent: 100, rtt_ms: null });
      expect(downEvents.rows[0].details).toMatchObject({ consecutive_failures: 3, backend, received: 0 });
      await waitFor('DOWN notify', () => notes.some((n) => n.to_state === 'DOWN'));
      expect(notes.filter((n) => n.reseller_ip_id === aId && n.to_state === 'DOWN')).toHaveLength(1);
      expect(notes.filter((n) => n.to_state === 'DOWN')).toHaveLength(1);

      linkUp('a');
      const upFrom = rec.rounds.length;
      const upAt = await rec.until('A UP again', (t) => t.get(A)?.state === 'UP');
      const recovering = rec.rounds.slice(upFrom, upAt + 1).map((r) => r.targets.get(A) as TargetView);
      const firstGood = recovering.findIndex((v) => v.received > 0);
      expect(recovering.slice(firstGood).map((v) => [v.state, v.consecutiveSuccesses])).toEqual([
        ['DOWN', 1],
        ['UP', 2],
      ]);
      await waitFor('UP notify', () => notes.some((n) => n.reseller_ip_id === aId && n.to_state === 'UP' && n.from_state === 'DOWN'));
      const events = await pool.query<{ from_state: string; to_state: string }>('select from_state, to_state from public.link_events where reseller_ip_id = $1 order by id', [aId]);
      expect(events.rows.map((e) => `${e.from_state}>${e.to_state}`)).toEqual(['UNKNOWN>UP', 'UP>DOWN', 'DOWN>UP']);
      transitionsSeen[backend] = events.rows.map((e) => `${e.from_state}>${e.to_state}`);

      const state = await pool.query('select state, consecutive_failures, consecutive_successes, last_rtt_ms from public.link_state where reseller_ip_id = $1', [aId]);
      expect(state.rows[0]).toMatchObject({ state: 'UP', consecutive_failures: 0 });
      expect(state.rows[0].last_rtt_ms).toBeGreaterThan(0);

      // Prometheus: one UP→DOWN for alpha, the up gauge back at 1, and the exposition passes promtool's lint.
      const text = await rec.registry.metrics();
      expect(text).toContain('bandwatch_ping_transitions_total{isp="bwp-isp",reseller="alpha",from="UP",to="DOWN"} 1');
      expect(text).toContain(`bandwatch_ping_target_up{isp="bwp-isp",reseller="alpha",target="${A}"} 1`);
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');
      expect(lint.status).toBe(0);

      // InfluxDB: the ping series with the contract's tags and fields.
      await rec.writer?.flush();
      const q = await waitFor('ping series in InfluxDB', async () => {
        const res = await influx.query(`SELECT loss_pct, rtt_avg_ms, state_code, sent, received FROM ping WHERE target = '${A}' AND reseller = 'alpha' AND isp = 'bwp-isp'`, 'bandwatch');
        const values = res.results[0]?.series?.[0]?.values ?? [];
        return values.some((v) => v[1] === 100) && values.some((v) => v[3] === 3) ? values : undefined;
      });
      expect(q.some((v) => v[3] === 3 && v[1] === 100 && v[2] === null)).toBe(true); // a DOWN round: all lost, no RTT
    } finally {
      linkUp('a');
      await rec.stop();
      await listener.end();
    }
  });

  // Each condition is measured where it means something: loss where it is
  // the same for any prober, RTT where the delay does not depend on pacing.
  const CONDITIONS = [
    {
      name: 'lossy link (every 5th request dropped)',
      key: 'lossy',
      // nftables drops exactly every 5th echo request that reaches B, so each
      // 20-probe round loses 4 whoever sends it. (netem is missing here, and a
      // shaper's own drops depend on sub-millisecond timing.)
      setUp: () => dropEveryNth('b', 5),
      tearDown: () => stopDropping('b'),
      degraded: { loss_percent: 5, rtt_ms: 150, rounds: 2 },
      compare: 'loss' as const,
    },
    {
      name: 'shaped link (tbf with a saturated queue)',
      key: 'shaped',
      // 22 kbit/s with a 4-packet queue: probes every 20 ms keep the queue
      // full, so every answered probe waits about limit/rate (~70 ms) however
      // the prober paces them. The share the queue drops does depend on pacing.
      setUp: () => shape('b', { rateKbit: 22, burstBytes: 200, limitBytes: 400 }),
      tearDown: () => unshape('b'),
      degraded: { loss_percent: 100, rtt_ms: 40, rounds: 2 },
      compare: 'rtt' as const,
    },
  ];

  it.each(CONDITIONS)('$name → DEGRADED, matching the probe tool alone over interleaved rounds', async (condition) => {
    await setTargets([
      { reseller: 'alpha', address: A },
      { reseller: 'bravo', address: B },
    ]);
    await pool.query('delete from public.link_events');
    condition.setUp();
    const probe = { interval_seconds: 2, probes: 20, probe_period_ms: 20, timeout_ms: 300, send_interval_ms: 10, degraded: condition.degraded };
    // The reference: the raw tool with the arguments the backend uses, run
    // right after each monitor round, so both see the same link over the same minute.
    // fping: one process for both targets, as the backend runs it; ping: one
    // iputils process per target, both at once, as the backend runs them.
    const reference = backend === 'fping' ? { cmd: 'fping', args: ['-c', '20', '-p', '20', '-t', '300', '-i', '10', '-q', A, B] } : { cmd: 'ping', args: ['-n', '-c', '20', '-i', '0.020', '-W', '0.3'] };
    const alone: Array<{ sent: number; received: number; avg: number }> = [];
    const rec = new Recorder();
    rec.afterRound = async () => {
      if (backend === 'fping') {
        alone.push(parseFpingSummary((await runTool(reference.cmd, reference.args)).stderr, B));
      } else {
        const [, b] = await Promise.all([runTool(reference.cmd, [...reference.args, A]), runTool(reference.cmd, [...reference.args, B])]);
        alone.push(parseIputilsSummary(b.stdout));
      }
    };
    rec.start(config(backend, probe));
    try {
      const first = (await rec.nextRound()) + 1;
      const degradedAt = await rec.until('B DEGRADED', (t) => t.get(B)?.state === 'DEGRADED');
      while (rec.rounds.length < first + 8) await rec.nextRound();
      await rec.stop();
      expect(rec.view(degradedAt, A).state).toBe('UP');
      const measured = rec.rounds.slice(first, first + 8).map((r) => r.targets.get(B) as TargetView);
      const mine = aggregate(measured.map((v) => ({ sent: v.sent, received: v.received, avg: v.rttAvgMs ?? 0 })));
      const ref = aggregate(alone.slice(first, first + 8));
      console.log(
        `[${backend}] ${condition.key} ${B}, 8 interleaved rounds: monitor loss ${mine.lossPct.toFixed(2)} % rtt ${mine.rttMs.toFixed(2)} ms | ` +
          `${reference.cmd} alone loss ${ref.lossPct.toFixed(2)} % rtt ${ref.rttMs.toFixed(2)} ms`,
      );
      if (condition.compare === 'loss') {
        expect(mine.lossPct).toBeGreaterThan(5);
        expect(Math.abs(mine.lossPct - ref.lossPct)).toBeLessThanOrEqual(1);
      } else {
        expect(mine.rttMs).toBeGreaterThan(40);
        expect(Math.abs(mine.rttMs - ref.rttMs) / ref.rttMs).toBeLessThanOrEqual(0.05);
      }
      const events = await pool.query<{ from_state: string; to_state: string }>(
        'select e.from_state, e.to_state from public.link_events e join public.reseller_ips i on i.id = e.reseller_ip_id where i.address = $1 order by e.id',
        [B],
      );
      expect(events.rows.map((e) => `${e.from_state}>${e.to_state}`)).toEqual(['UNKNOWN>UP', 'UP>DEGRADED']);
      transitionsSeen[`${backend}-${condition.key}`] = events.rows.map((e) => `${e.from_state}>${e.to_state}`);
    } finally {
      condition.tearDown();
      await rec.stop();
    }
  });
});

async function runTool(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // fping exits 1 when a target lost everything; the summary is what matters.
    execFile(cmd, args, { encoding: 'utf8' }, (_err, stdout, stderr) => resolve({ stdout, stderr }));
  });
}

function parseFpingSummary(stderr: string, target: string): { sent: number; received: number; avg: number } {
  const m = new RegExp(`^${target.replace(/\./g, '\\.')}\\s+: xmt/rcv/%loss = (\\d+)/(\\d+)/\\d+%(?:, min/avg/max = [\\d.]+/([\\d.]+)/)?`, 'm').exec(stderr);
  if (!m) throw new Error(`no fping summary for ${target} in: ${stderr}`);
  return { sent: Number(m[1]), received: Number(m[2]), avg: Number(m[3] ?? 0) };
}

function parseIputilsSummary(stdout: string): { sent: number; received: number; avg: number } {
  const c = /(\d+) packets transmitted, (\d+) received/.exec(stdout);
  const r = /rtt min\/avg\/max\/mdev = [\d.]+\/([\d.]+)\//.exec(stdout);
  if (!c) throw new Error(`no ping summary in: ${stdout}`);
  return { sent: Number(c[1]), received: Number(c[2]), avg: Number(r?.[1] ?? 0) };
}

function aggregate(rounds: Array<{ sent: number; received: number; avg: number }>): { lossPct: number; rttMs: number } {
  const sent = rounds.reduce((s, r) => s + r.sent, 0);
  const received = rounds.reduce((s, r) => s + r.received, 0);
  // Mean RTT over all replies, not the mean of per-round means.
  const rttSum = rounds.reduce((s, r) => s + r.avg * r.received, 0);
  return { lossPct: (100 * (sent - received)) / sent, rttMs: received ? rttSum / received : NaN };
}

describe('both backends', () => {
  it('give the same states on the same scenario', () => {
    expect(transitionsSeen.fping).toEqual(['UNKNOWN>UP', 'UP>DOWN', 'DOWN>UP']);
    expect(transitionsSeen.ping).toEqual(transitionsSeen.fping);
    expect(transitionsSeen['ping-lossy']).toEqual(transitionsSeen['fping-lossy']);
    expect(transitionsSeen['ping-shaped']).toEqual(transitionsSeen['fping-shaped']);
  });
});

describe('restart', () => {
  it('a restarted monitor resumes from link_state: no UNKNOWN, no second round of events', async () => {
    await setTargets([
      { reseller: 'alpha', address: A },
      { reseller: 'bravo', address: B },
    ]);
    await pool.query('delete from public.link_events');
    const first = new Recorder().start(config('fping'));
    try {
      await first.until('both UP', (t) => t.get(A)?.state === 'UP' && t.get(B)?.state === 'UP');
    } finally {
      await first.stop();
    }
    const second = new Recorder().start(config('fping'));
    try {
      await second.nextRound();
      await second.nextRound();
      expect(second.rounds.map((r) => [r.targets.get(A)?.state, r.targets.get(B)?.state])).toEqual([
        ['UP', 'UP'],
        ['UP', 'UP'],
      ]);
      expect((await pool.query('select 1 from public.link_events')).rowCount).toBe(2);
    } finally {
      await second.stop();
    }
  });
});

describe('bad input is reported per target and the round carries on', () => {
  it.each([
    {
      backend: 'fping' as const,
      // Probing from inside bwpa: no IPv6 there, and no route to any DNS server, so nothing leaves.
      netns: BWP.a.ns,
      bad: { 'bwp-no-such-host.example': 'unresolvable', 'no-such-host.invalid': 'unresolvable', '300.1.1.1': 'invalid_address', '10.99.2': 'invalid_address', '2001:db8::1': 'no_ipv6' },
    },
    {
      backend: 'ping' as const,
      netns: undefined,
      bad: { 'no-such-host.invalid': 'unresolvable', '300.1.1.1': 'invalid_address', 'not a host!': 'invalid_address' },
    },
  ])('$backend', async ({ backend, netns, bad }) => {
    await setTargets([{ reseller: 'bravo', address: B }, ...Object.keys(bad).map((address) => ({ reseller: 'alpha' as const, address }))]);
    const rec = new Recorder().start(config(backend, netns ? { netns } : {}));
    try {
      await rec.until('good target UP', (t) => t.get(B)?.state === 'UP');
      const round = await rec.nextRound();
      for (const [address, kind] of Object.entries(bad)) {
        const v = rec.view(round, address);
        expect(v, address).toMatchObject({ state: 'UNKNOWN', sent: 0 });
        expect(v.error, address).toBeTruthy();
        const text = await rec.registry.metrics();
        expect(text).toContain(`bandwatch_ping_target_error{isp="bwp-isp",reseller="alpha",target="${address}",kind="${kind}"} 1`);
      }
      expect(rec.rounds.every((r) => r.summary.failed === undefined)).toBe(true);
      const text = await rec.registry.metrics();
      const total = Object.keys(bad).length;
      const counted = [...text.matchAll(/^bandwatch_ping_targets_with_errors\{kind="[a-z_0-9]+"\} (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
      expect(counted).toBe(total);
      const rows = await pool.query<{ state: string; last_error: string | null }>('select s.state, s.last_error from public.link_state s join public.reseller_ips i on i.id = s.reseller_ip_id where i.address <> $1', [B]);
      expect(rows.rows).toHaveLength(total);
      expect(rows.rows.every((r) => r.state === 'UNKNOWN' && r.last_error)).toBe(true);
    } finally {
      await rec.stop();
    }
  });
});

