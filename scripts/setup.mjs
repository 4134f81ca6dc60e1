#!/usr/bin/env node
// Installs what Bandwatch needs on a Debian machine, idempotently: the Debian
// packages of the real servers the demo and the tests run (only those that are
// missing, only as root), then the npm dependencies. Safe to run again.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

const DEBIAN_PACKAGES = [
  'postgresql',
  'influxdb',
  'influxdb-client',
  'prometheus',
  'snmpd',
  'snmp',
  'fping',
  'iputils-ping',
  'iproute2',
  'iperf3',
  'nftables',
  'chromium',
  'victoria-metrics',
  'prometheus-snmp-exporter',
];

const quietIfReady = process.argv.includes('--quiet-if-ready');
const say = (msg) => console.log(`setup: ${msg}`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`setup: ${cmd} ${args.join(' ')} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

const missing = DEBIAN_PACKAGES.filter((p) => !installed(p));
if (missing.length > 0) {
  if (process.getuid?.() !== 0) {
    console.error(`setup: missing Debian packages: ${missing.join(' ')}\nsetup: run as root, or: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
  say(`installing Debian packages: ${missing.join(' ')}`);
  // Package scripts must not start system services (a system PostgreSQL or
  // snmpd): Bandwatch runs its own private instances on free loopback ports.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-qq'], { env });
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
} else if (!quietIfReady) {
  say('Debian packages present');
}

const npmReady = existsSync('node_modules/.bin/bandwatch') && existsSync('node_modules/.package-lock.json');
if (!npmReady || !quietIfReady) {
  // `npm install` rather than `npm ci`: a lockfile made on one platform can name
  // optional native packages that another platform's registry view lacks.
  say('installing npm dependencies');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']);
}
say('ready');
