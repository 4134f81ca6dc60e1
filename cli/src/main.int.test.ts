import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, startPostgres, type PostgresServer } from '@bandwatch/core/testing';
import { listMigrations } from '@bandwatch/core';
import { COMMANDS } from './main';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'cli/bin/bandwatch.mjs');
const EXAMPLE = readFileSync(join(ROOT, 'config.yaml'), 'utf8');

function bandwatch(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = makeTempDir('cli');
const write = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

describe('bandwatch config check', () => {
  it('accepts the example config with exit 0', () => {
    const r = bandwatch(['config', 'check', 'config.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok: 2 isp(s), 2 device(s), 5 reseller(s)');
  });

  it('exits 2 naming the exact YAML path of a reseller with committed rate -5, without a stack trace', () => {
    const bad = write('bad-rate.yaml', EXAMPLE.replace('committed_mbps: 100', 'committed_mbps: -5'));
    const r = bandwatch(['config', 'check', bad]);
    expect(r.code).toBe(2);
    const line = EXAMPLE.replace('committed_mbps: 100', 'committed_mbps: -5').split('\n').findIndex((l) => l.includes('committed_mbps: -5')) + 1;
    expect(r.stderr).toContain(`inventory.isps[0].resellers[1].committed_mbps: must be > 0 (line ${line})`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 for a missing file and for YAML that does not parse', () => {
    expect(bandwatch(['config', 'check', join(tmp, 'nope.yaml')]).code).toBe(2);
    const r = bandwatch(['config', 'check', write('broken.yaml', 'postgres: [unclosed\n')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\(yaml\): .+ \(line \d+\)/);
  });

  it('--print shows the effective config with secrets as <secret>', () => {
    const r = bandwatch(['config', 'check', 'config.yaml', '--print'], { BANDWATCH_SNMP_COMMUNITY: 'very-private-community' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('community: <secret>');
    expect(r.stdout).not.toContain('very-private-community');
    expect(r.stdout).toContain('poll_interval_seconds: 10');
  });
});

describe('bandwatch CLI', () => {
  it.each(Object.keys(COMMANDS))('%s --help prints usage', (name) => {
    const r = bandwatch([...name.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: ${COMMANDS[name]!.usage}`);
  });

  it('lists every command in the global help', () => {
    const r = bandwatch(['--help']);
    for (const c of Object.values(COMMANDS)) expect(r.stdout).toContain(c.usage);
  });

  it('rejects unknown commands and options with exit 2', () => {
    expect(bandwatch(['frobnicate']).code).toBe(2);
    const r = bandwatch(['migrate', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown option '--no-such-flag'");
  });
});

describe('bandwatch migrate and inventory apply against a real PostgreSQL', () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.stop();
  });

  it('migrates idempotently, dry-runs, applies, and then reports no changes', () => {
    const env = { BANDWATCH_POSTGRES_URL: pg.url };
    const m1 = bandwatch(['migrate'], env);
    expect(m1.code).toBe(0);
    const n = listMigrations().length;
    expect(m1.stdout).toContain(`${n} applied, 0 already applied`);
    expect(bandwatch(['migrate'], env).stdout).toContain(`0 applied, ${n} already applied`);

    const dry = bandwatch(['inventory', 'apply', 'config.yaml', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('+ reseller acme-net');
    expect(dry.stdout).toContain('dry run: 21 change(s) not written');
    expect(bandwatch(['inventory', 'apply', '--dry-run'], env).stdout).toContain('dry run: 21 change(s) not written');

    const real = bandwatch(['inventory', 'apply'], env);
    expect(real.stdout).toContain('21 change(s) applied');
    expect(bandwatch(['inventory', 'apply'], env).stdout.trim()).toBe('no changes');
  });

  it('reports an unreachable database as one line and exit 1', () => {
    const r = bandwatch(['migrate'], { BANDWATCH_POSTGRES_URL: 'postgres://postgres@127.0.0.1:1/x' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^migrate: .*ECONNREFUSED/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
