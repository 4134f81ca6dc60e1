import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Secret, silentLogger, type Config, type Device, type ResellerVlan } from '@bandwatch/core';
import { freeTcpPort, requireBinary, stopPid, waitFor } from '@bandwatch/core/testing';
import { parseProfile, startSimulator } from '@bandwatch/simulator';
import { PollScheduler } from '../collector/src/snmp/pollScheduler';

/*
 * SNMP polling benchmark: one simulated router with 10,000 interfaces (run in
 * a child process, so its CPU is not charged to the poller), all 10,000
 * bound; the same four counters per interface collected by
 *   - our PollScheduler (GETs of the bound instances, sysUpTime.0 in every PDU),
 *   - snmpbulkwalk (one walk per column),
 *   - prometheus-snmp-exporter 0.21 (a hand-written module walking the columns),
 * in the same run against the same agent. Prints varbinds/s, CPU µs per
 * varbind of the collecting side, and the poller's heap per 10k bound
 * interfaces. No assertions: targets are printed next to the figures.
 */

// BANDWATCH_BENCH_SNMP_INTERFACES scales the run down for a quick look.
const INTERFACES = Number(process.env.BANDWATCH_BENCH_SNMP_INTERFACES ?? 10_000);
const ROUNDS = 3;
const COLUMNS = {
  ifHCInOctets: '1.3.6.1.2.1.31.1.1.1.6',
  ifHCOutOctets: '1.3.6.1.2.1.31.1.1.1.10',
  ifOperStatus: '1.3.6.1.2.1.2.2.1.8',
  ifCounterDiscontinuityTime: '1.3.6.1.2.1.31.1.1.1.19',
} as const;
const CHILD_ENV = 'BANDWATCH_BENCH_SNMP_SIMULATOR';

/** Child mode: serve the simulated router and print its port. */
async function simulatorChild(): Promise<void> {
  const sim = await startSimulator(
    parseProfile({ devices: [{ name: 'bench', port: 0, community: 'public', generate: { count: INTERFACES, name_template: 'ether2.{n}', speed_mbps: 1000, in: { kind: 'constant', mbps: 100 } } }] }),
    { logger: silentLogger() },
  );
  process.stdout.write(`${JSON.stringify({ port: sim.devices[0]?.port })}\n`);
  process.on('SIGTERM', () => {
    void sim.stop().then(() => process.exit(0));
  });
}

if (process.env[CHILD_ENV] === '1') await simulatorChild();

function clockTicks(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout.trim()) || 100;
}

/** utime+stime (or, with children, cutime+cstime) in seconds from a /proc/PID/stat line. */
function statCpuSeconds(stat: string, children: boolean, ticks: number): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17.
  const at = (field: number) => Number(f[field - 3]);
  return (children ? at(16) + at(17) : at(14) + at(15)) / ticks;
}

interface Row {
  tool: string;
  varbinds: number;
  wallSeconds: number;
  cpuSeconds: number;
  note: string;
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function startChild(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], { env: { ...process.env, [CHILD_ENV]: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (b: Buffer) => {
      buf += b.toString();
      const line = buf.split('\n')[0];
      if (buf.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`simulator child exited ${code}`)));
  });
  return { child, port };
}

async function benchPoller(port: number, maxVarbindsPerPdu: number): Promise<{ row: Row; heapMbPer10k: number; discoverySeconds: number }> {
  const device: Device = { id: 'dev-bench', ispId: 'isp', name: 'bench', host: '127.0.0.1', port, authRef: 'v2', uplinkCapacityMbps: null, enabled: true };
  const vlans: ResellerVlan[] = Array.from({ length: INTERFACES }, (_v, i) => ({
    id: `rule-${i + 1}`,
    ispId: 'isp',
    resellerId: `res-${i + 1}`,
    deviceId: device.id,
    matchKind: 'if_name',
    matchValue: `ether2.${i + 1}`,
    boundIfIndex: null,
    boundIfName: null,
  }));
  const config: Pick<Config, 'snmp' | 'collector'> = {
    snmp: {
      timeout_ms: 5000,
      retries: 1,
      port: 161,
      max_repetitions: 50,
      max_varbinds_per_pdu: maxVarbindsPerPdu,
      max_in_flight_per_device: 2,
      max_concurrent_requests: 200,
      fast_get: true,
      auths: { v2: { version: '2c', community: new Secret('public'), security_level: 'authPriv', auth_protocol: 'sha', priv_protocol: 'aes' } },
    },
    collector: { poll_interval_seconds: 3600, discovery_interval_seconds: 86400, rollup_interval_seconds: 300, overspeed_tolerance_percent: 5, shard: { index: 0, count: 1 }, http: { listen: '127.0.0.1', port: 9105 } },
  };
  let varbinds = 0;
  let samples = 0;
  let bound = 0;
  let discoverySeconds = 0;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const scheduler = new PollScheduler({
    devices: [device],
    vlans,
    config,
    logger: silentLogger(),
    onSamples: (_id, s) => {
      samples += s.length;
    },
    onPollError: (_id, err) => {
      throw err;
    },
    onBinding: (b) => {
      bound = b.filter((x) => x.ok).length;
    },
    pollStats: {
      onCycle: (_id, info) => {
        varbinds += info.varbinds;
      },
      onDiscovery: (_id, info) => {
        discoverySeconds = info.durationMs / 1000;
      },
    },
  });
  const poller = scheduler.poller(device.id);
  if (!poller) throw new Error('no poller');
  // The first cycle discovers (walks names) and binds; it is not timed.
  await poller.runCycle();
  if (bound !== INTERFACES) throw new Error(`bound ${bound} of ${INTERFACES}`);
  varbinds = 0;
  samples = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) await poller.runCycle();
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  await scheduler.stop();
  if (samples !== INTERFACES * ROUNDS) throw new Error(`expected ${INTERFACES * ROUNDS} samples, got ${samples}`);
  return {
    row: { tool: `bandwatch poller (${maxVarbindsPerPdu}/PDU)`, varbinds, wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, note: `GET, max_varbinds_per_pdu ${maxVarbindsPerPdu}, 2 in flight, ${ROUNDS} cycles` },
    heapMbPer10k: ((heapAfter - heapBefore) / 1024 / 1024) * (10_000 / INTERFACES),
    discoverySeconds,
  };
}

function benchBulkwalk(port: number, ticks: number): Row {
  const bin = requireBinary('snmpbulkwalk', 'snmp');
  const walks: string[] = [];
  for (let i = 0; i < ROUNDS; i++) for (const oid of Object.values(COLUMNS)) walks.push(`${bin} -v2c -c public -Cr50 -On -Oq -m "" -t 5 -r 1 127.0.0.1:${port} ${oid} || exit 1`);
  // One shell runs every walk, then prints its own stat: the children's CPU
  // (summed by the kernel at full precision) is in its cutime/cstime.
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', `${walks.join('\n')}\ncat /proc/$$/stat >&2`], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, MIBS: '' } });
  const wallSeconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`snmpbulkwalk failed: ${r.stderr}`);
  const prefixes = Object.values(COLUMNS).map((o) => `.${o}.`);
  const varbinds = r.stdout.split('\n').filter((l) => prefixes.some((p) => l.startsWith(p))).length;
  const cpuSeconds = statCpuSeconds(r.stderr.trim().split('\n').pop() ?? '', true, ticks);
  return { tool: 'snmpbulkwalk', varbinds, wallSeconds, cpuSeconds, note: `-Cr50, one walk per column, ${ROUNDS} rounds` };
}

function exporterConfig(): string {
  const metric = (name: string, oid: string, type: string) =>
    [`  - name: ${name}`, `    oid: ${oid}`, `    type: ${type}`, `    help: ${name}`, '    indexes:', '    - labelname: ifIndex', '      type: gauge'].join('\n');
  return [
    'bandwatch_bench:',
    '  walk:',
    ...Object.values(COLUMNS).map((o) => `  - ${o}`),
    '  get:',
    '  - 1.3.6.1.2.1.1.3.0',
    '  metrics:',
    '  - name: sysUpTime',
    '    oid: 1.3.6.1.2.1.1.3',
    '    type: gauge',
    '    help: sysUpTime',
    metric('ifHCInOctets', COLUMNS.ifHCInOctets, 'counter'),
    metric('ifHCOutOctets', COLUMNS.ifHCOutOctets, 'counter'),
    metric('ifOperStatus', COLUMNS.ifOperStatus, 'gauge'),
    metric('ifCounterDiscontinuityTime', COLUMNS.ifCounterDiscontinuityTime, 'gauge'),
    '  version: 2',
    '  max_repetitions: 50',
    '  retries: 1',
    '  timeout: 5s',
    '  auth:',
    '    community: public',
    '',
  ].join('\n');
}

async function benchExporter(port: number, ticks: number): Promise<Row> {
  const bin = requireBinary('prometheus-snmp-exporter', 'prometheus-snmp-exporter');
  const dir = mkdtempSync(join(tmpdir(), 'bandwatch-bench-snmp-'));
  const conf = join(dir, 'snmp.yml');
  writeFileSync(conf, exporterConfig());
  const dry = spawnSync(bin, [`--config.file=${conf}`, '--dry-run'], { encoding: 'utf8' });
  if (dry.status !== 0) throw new Error(`snmp.yml rejected by the exporter: ${dry.stderr}`);
  const httpPort = await freeTcpPort();
  const child = spawn(bin, [`--config.file=${conf}`, `--web.listen-address=127.0.0.1:${httpPort}`, '--log.level=warn'], { stdio: 'ignore' });
  const pid = child.pid as number;
  try {
    const base = `http://127.0.0.1:${httpPort}`;
    await waitFor('snmp exporter', async () => (await fetch(`${base}/`)).ok, 10000);
    const scrape = async () => {
      const res = await fetch(`${base}/snmp?module=bandwatch_bench&target=127.0.0.1:${port}`);
      const text = await res.text();
      if (!res.ok) throw new Error(`exporter scrape failed: ${res.status} ${text.slice(0, 300)}`);
      return text.split('\n').filter((l) => /^(ifHCInOctets|ifHCOutOctets|ifOperStatus|ifCounterDiscontinuityTime|sysUpTime)\{?/.test(l)).length;
    };
    await scrape(); // warm-up (connection, first config use)
    const cpu0 = statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'), false, ticks);
    const t0 = performance.now();
    let varbinds = 0;
    for (let i = 0; i < ROUNDS; i++) varbinds += await scrape();
    const wallSeconds = (performance.now() - t0) / 1000;
    const cpuSeconds = statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'), false, ticks) - cpu0;
    return { tool: 'prometheus-snmp-exporter 0.21', varbinds, wallSeconds, cpuSeconds, note: `walk of the 4 columns, max_repetitions 50, ${ROUNDS} scrapes` };
  } finally {
    await stopPid(pid);
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')).join('\n');
}

export async function run(): Promise<void> {
  const ticks = clockTicks();
  const { child, port } = await startChild();
  try {
    console.log(`agent: simulated router (net-snmp JS agent, separate process) with ${INTERFACES} interfaces on 127.0.0.1:${port}; ${INTERFACES} bound VLANs; 4 counters each`);
    const poller = await benchPoller(port, 60);
    const big = await benchPoller(port, 240);
    const bulk = benchBulkwalk(port, ticks);
    const exporter = await benchExporter(port, ticks);
    const rows = [poller.row, big.row, bulk, exporter];
    const vbps = (r: Row) => r.varbinds / r.wallSeconds;
    const usPerVb = (r: Row) => (r.cpuSeconds * 1e6) / r.varbinds;
    console.log(
      table([
        ['tool', 'varbinds', 'wall s', 'varbinds/s', 'CPU s', 'CPU µs/varbind', 'how'],
        ...rows.map((r) => [r.tool, String(r.varbinds), r.wallSeconds.toFixed(2), vbps(r).toFixed(0), r.cpuSeconds.toFixed(3), usPerVb(r).toFixed(2), r.note]),
      ]),
    );
    console.log('');
    for (const p of [poller.row, big.row]) {
      console.log(`${p.tool} vs snmpbulkwalk: ${(vbps(p) / vbps(bulk)).toFixed(2)}× varbinds/s (target ≥ 1), ${(usPerVb(p) / usPerVb(bulk)).toFixed(2)}× CPU per varbind; vs snmp_exporter: ${(vbps(p) / vbps(exporter)).toFixed(2)}× varbinds/s, ${(usPerVb(p) / usPerVb(exporter)).toFixed(2)}× CPU per varbind; ${usPerVb(p).toFixed(2)} µs CPU/varbind (target ≤ 3)`);
    }
    console.log(`poller heap: ${poller.heapMbPer10k.toFixed(1)} MB per 10k bound interfaces (target ≤ 20); discovery walk of ${INTERFACES} interfaces: ${poller.discoverySeconds.toFixed(2)} s`);
    console.log('note: the JS agent is the slowest party; every tool waits for the same agent, so varbinds/s compares collectors under the same agent limit.');
  } finally {
    if (child.pid) await stopPid(child.pid);
  }
}
