import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Real local servers for the tests and the demo: each starts on a loopback
 * port (free, unless one is given) in its own dir and is stopped by PID. A
 * missing binary is an error naming the install command, never a skip: in CI
 * a missing server must fail the run.
 */

export const INSTALL_HINT = 'run `node scripts/setup.mjs` (apt-get install postgresql influxdb prometheus snmpd snmp fping iputils-ping iproute2 iperf3 chromium)';

const PG_BIN = '/usr/lib/postgresql/15/bin';

export class MissingBinaryError extends Error {
  constructor(binary: string, pkg: string) {
    super(`${binary} is not installed: apt-get install -y ${pkg} (or ${INSTALL_HINT})`);
    this.name = 'MissingBinaryError';
  }
}

/** Absolute path of a binary, or a MissingBinaryError naming the Debian package. */
export function requireBinary(name: string, pkg: string): string {
  if (name.startsWith('/')) {
    if (existsSync(name)) return name;
    throw new MissingBinaryError(name, pkg);
  }
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new MissingBinaryError(name, pkg);
}

export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.on('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      const port = sock.address().port;
      sock.close(() => resolve(port));
    });
  });
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `bandwatch-${prefix}-`));
  // Servers such as PostgreSQL run as their own user and must reach into it.
  chmodSync(dir, 0o755);
  return dir;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to `pid`, waits for it to exit, and SIGKILLs it after `graceMs`. */
export async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(25);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

const running = new Set<number>();
let exitHookInstalled = false;

function track(pid: number): void {
  running.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A crashed test run must not leave servers behind.
    process.once('exit', () => {
      for (const p of running) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });
  }
}

export interface RunningServer {
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

function spawnServer(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; logFile: string; cwd?: string }): ChildProcess {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: false,
  });
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => chunks.push(b));
  child.stderr?.on('data', (b: Buffer) => chunks.push(b));
  child.on('exit', () => {
    try {
      writeFileSync(opts.logFile, Buffer.concat(chunks));
    } catch {
      // temp dir already removed
    }
  });
  if (child.pid === undefined) throw new Error(`${cmd}: failed to start`);
  track(child.pid);
  return child;
}


// ---------------------------------------------------------------- PostgreSQL

export interface PostgresServer extends RunningServer {
  port: number;
  /** Superuser URL for database `database`. */
  url: string;
  urlFor(database: string): string;
}

const isRoot = process.getuid?.() === 0;

function runAsPostgres(cmd: string, args: string[]): ReturnType<typeof spawnSync> {
  return isRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' })
    : spawnSync(cmd, args, { encoding: 'utf8' });
}

/**
 * A private PostgreSQL 15 cluster (never the system one): initdb + pg_ctl on a
 * free port, trust auth on loopback and a socket in its own dir.
 */
export async function startPostgres(options: { database?: string; dir?: string; port?: number } = {}): Promise<PostgresServer> {
  const initdb = requireBinary(`${PG_BIN}/initdb`, 'postgresql');
  const pgCtl = requireBinary(`${PG_BIN}/pg_ctl`, 'postgresql');
  const dir = options.dir ?? makeTempDir('pg');
  const dataDir = join(dir, 'data');
  const port = options.port ?? (await freeTcpPort());
  mkdirSync(dir, { recursive: true });
  if (isRoot) {
    chmodSync(dir, 0o755);
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const init = runAsPostgres(initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    if (init.status !== 0) {
      const hint = /Permission denied/.test(String(init.stderr)) ? ` (the postgres user must be able to enter every parent directory of ${dir})` : '';
      throw new Error(`initdb failed: ${String(init.stderr).trim()}${hint}`);
    }
  }
  const start = runAsPostgres(pgCtl, [
    '-D',
    dataDir,
    '-l',
    join(dir, 'postgres.log'),
    '-w',
    '-t',
    '30',
    '-o',
    `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
    'start',
  ]);
  if (start.status !== 0) {
    const log = existsSync(join(dir, 'postgres.log')) ? readFileSync(join(dir, 'postgres.log'), 'utf8') : '';
    throw new Error(`pg_ctl start failed: ${String(start.stderr)}\n${log}`);
  }
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  track(pid);
  const urlFor = (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;
  const database = options.database ?? 'bandwatch';
  if (database !== 'postgres') {
    const psql = requireBinary('psql', 'postgresql-client');
    const exists = spawnSync(psql, [urlFor('postgres'), '-tAc', `select 1 from pg_database where datname = '${database}'`], { encoding: 'utf8' });
    if (exists.stdout.trim() !== '1') {
      const created = spawnSync(psql, [urlFor('postgres'), '-c', `create database "${database}"`], { encoding: 'utf8' });
      if (created.status !== 0) throw new Error(`create database failed: ${created.stderr}`);
    }
  }
  return {
    pid,
    dir,
    port,
    url: urlFor(database),
    urlFor,
    async stop() {
      // SIGINT is PostgreSQL's "fast" shutdown: no wait for clients.
      await stopPid(pid, 'SIGINT', 15000);
      running.delete(pid);
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- InfluxDB 1.x

export interface InfluxServer extends RunningServer {
  port: number;
  url: string;
  /** Runs an InfluxQL statement against `db` and returns the parsed JSON. */
  query(q: string, db?: string): Promise<InfluxQueryResult>;
}

export interface InfluxQueryResult {
  results: Array<{ statement_id: number; error?: string; series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }> }>;
}

export async function startInflux(options: { database?: string; dir?: string; port?: number } = {}): Promise<InfluxServer> {
  const influxd = requireBinary('influxd', 'influxdb');
  const dir = options.dir ?? makeTempDir('influx');
  const port = options.port ?? (await freeTcpPort());
  const rpcPort = await freeTcpPort();
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${port}"`,
      '  log-enabled = false',
      '[logging]',
      '  level = "warn"',
      '',
    ].join('\n'),
  );
  const child = spawnServer(influxd, ['run', '-config', conf], { logFile: join(dir, 'influxd.log') });
  const pid = child.pid as number;
  const url = `http://127.0.0.1:${port}`;
  await waitFor('influxd /ping', async () => {
    if (child.exitCode !== null) throw new Error(`influxd exited with ${child.exitCode}`);
    const res = await fetch(`${url}/ping`);
    return res.status === 204;
  });
  const query = async (q: string, db?: string): Promise<InfluxQueryResult> => {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (db) params.set('db', db);
    const res = await fetch(`${url}/query`, { method: 'POST', body: params });
    const body = (await res.json()) as InfluxQueryResult;
    if (!res.ok) throw new Error(`influx query failed (${res.status}): ${JSON.stringify(body)}`);
    return body;
  };
  if (options.database) await query(`CREATE DATABASE "${options.database}"`);
  return {
    pid,
    dir,
    port,
    url,
    query,
    async stop() {
      await stopPid(pid, 'SIGTERM');
      running.delete(pid);
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- snmpd

export interface SnmpdServer extends RunningServer {
  port: number;
  community: string;
  v3: { user: string; authPassword: string; privPassword: string };
}

/**
 * net-snmp's snmpd on 127.0.0.1:PORT/udp with a v2c community, a v3 authPriv
 * user (SHA/AES) and a write community limited to the ifTable cache entry,
 * which is lowered to 1 s so rates see fresh counters.
 */
export async function startSnmpd(options: { extraConfig?: string[]; cacheSeconds?: number } = {}): Promise<SnmpdServer> {
  const snmpd = requireBinary('snmpd', 'snmpd');
  const snmpset = requireBinary('snmpset', 'snmp');
  const dir = makeTempDir('snmpd');
  const port = await freeUdpPort();
  const community = 'public';
  const v3 = { user: 'bwtest', authPassword: 'authpass123', privPassword: 'privpass123' };
  const conf = join(dir, 'snmpd.conf');
  mkdirSync(join(dir, 'persist'), { recursive: true });
  writeFileSync(
    conf,
    [
      `agentAddress udp:127.0.0.1:${port}`,
      `rocommunity ${community} 127.0.0.1`,
      'rwcommunity cachectl 127.0.0.1 .1.3.6.1.4.1.8072.1.5',
      `createUser ${v3.user} SHA "${v3.authPassword}" AES "${v3.privPassword}"`,
      `rouser ${v3.user} priv`,
      ...(options.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  const child = spawnServer(snmpd, ['-f', '-Lo', '-C', '-c', conf, '-m', '', '-I', '-smux'], {
    env: { MIBS: '', SNMP_PERSISTENT_DIR: join(dir, 'persist') },
    logFile: join(dir, 'snmpd.log'),
  });
  const pid = child.pid as number;
  const cache = String(options.cacheSeconds ?? 1);
  await waitFor('snmpd cache control', () => {
    if (child.exitCode !== null) throw new Error(`snmpd exited with ${child.exitCode}`);
    const r = spawnSync(snmpset, ['-v2c', '-c', 'cachectl', '-t', '0.5', '-r', '0', `127.0.0.1:${port}`, '.1.3.6.1.4.1.8072.1.5.3.1.2.1.3.6.1.2.1.2.2', 'i', cache], {
      encoding: 'utf8',
    });
    return r.status === 0;
  });
  return {
    pid,
    dir,
    port,
    community,
    v3,
    async stop() {
      await stopPid(pid, 'SIGTERM');
      running.delete(pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- Prometheus

export interface PrometheusServer extends RunningServer {
  port: number;
  url: string;
  /** Instant PromQL query; returns the `data.result` array. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
}

export async function startPrometheus(options: { scrapeTargets: string[]; scrapeIntervalSeconds?: number; extraYaml?: string }): Promise<PrometheusServer> {
  const prometheus = requireBinary('prometheus', 'prometheus');
  const dir = makeTempDir('prom');
  const port = await freeTcpPort();
  const interval = options.scrapeIntervalSeconds ?? 1;
  const conf = join(dir, 'prometheus.yml');
  writeFileSync(
    conf,
    [
      'global:',
      `  scrape_interval: ${interval}s`,
      `  evaluation_interval: ${interval}s`,
      'scrape_configs:',
      '  - job_name: bandwatch',
      '    static_configs:',
      `      - targets: [${options.scrapeTargets.map((t) => JSON.stringify(t)).join(', ')}]`,
      options.extraYaml ?? '',
      '',
    ].join('\n'),
  );
  const child = spawnServer(
    prometheus,
    [`--config.file=${conf}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { logFile: join(dir, 'prometheus.log') },
  );
  const pid = child.pid as number;
  const url = `http://127.0.0.1:${port}`;
  await waitFor('prometheus ready', async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}`);
    const res = await fetch(`${url}/-/ready`);
    return res.ok;
  });
  return {
    pid,
    dir,
    port,
    url,
    async query(promql: string) {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
      const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      if (body.status !== 'success') throw new Error(`promql failed: ${JSON.stringify(body)}`);
      return body.data.result;
    },
    async stop() {
      await stopPid(pid, 'SIGTERM');
      running.delete(pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a command and returns stdout, throwing with stderr on a non-zero exit. */
export function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

