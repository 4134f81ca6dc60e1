import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, redactedConfig } from './load';
import { RULES } from './schema';

const EXAMPLE = readFileSync(new URL('../../../config.yaml', import.meta.url), 'utf8');
const ENV = {};

/** The example config with one value set (or deleted when value is undefined) at a YAML path. */
function mutate(path: Array<string | number>, value: unknown): string {
  const doc = parseDocument(EXAMPLE);
  if (value === undefined) doc.deleteIn(path);
  else doc.setIn(path, value);
  return doc.toString();
}

function problemsOf(text: string, env: NodeJS.ProcessEnv = ENV): string[] {
  try {
    parseConfig(text, 'test.yaml', env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

const R0 = ['inventory', 'isps', 0, 'resellers', 0];
const D0 = ['inventory', 'isps', 0, 'devices', 0];

describe('example config', () => {
  it('is valid and fills defaults from the schema', () => {
    const cfg = parseConfig(EXAMPLE, 'config.yaml', ENV);
    expect(cfg.inventory.isps).toHaveLength(2);
    expect(cfg.inventory.isps.flatMap((i) => i.resellers)).toHaveLength(5);
    expect(cfg.alerting.utilization.yellow_percent).toBe(80);
    expect(cfg.alerting.utilization.red_percent).toBe(100);
    expect(cfg.alerting.uplink.threshold_mbps).toBe(950);
    expect(cfg.alerting.uplink.window_seconds).toBe(300);
    expect(cfg.ping.down_after_failures).toBe(3);
    expect(cfg.snmp.max_repetitions).toBe(25);
    expect(cfg.collector.rollup_interval_seconds).toBe(300);
  });
});

describe('malformed configs name the YAML path and the rule', () => {
  it.each<[string, Array<string | number>, unknown, string]>([
    ['negative committed rate', [...R0, 'committed_mbps'], -5, `inventory.isps[0].resellers[0].committed_mbps: ${RULES.positiveRate}`],
    ['zero committed rate', ['inventory', 'isps', 1, 'resellers', 1, 'committed_mbps'], 0, `inventory.isps[1].resellers[1].committed_mbps: ${RULES.positiveRate}`],
    ['committed rate as text', [...R0, 'committed_mbps'], 'fast', 'inventory.isps[0].resellers[0].committed_mbps: Invalid input: expected number, received string'],
    ['missing committed rate', [...R0, 'committed_mbps'], undefined, 'inventory.isps[0].resellers[0].committed_mbps: is required'],
    ['bad reseller slug', [...R0, 'slug'], 'Acme Net', `inventory.isps[0].resellers[0].slug: ${RULES.slug}`],
    ['duplicate reseller slug', ['inventory', 'isps', 0, 'resellers', 1, 'slug'], 'acme-net', 'inventory.isps[0].resellers[1].slug: is a duplicate (reseller slug "acme-net")'],
    ['duplicate isp slug', ['inventory', 'isps', 1, 'slug'], 'northwind', 'inventory.isps[1].slug: is a duplicate (isp slug "northwind")'],
    ['duplicate device name', ['inventory', 'isps', 1, 'devices', 0, 'name'], 'nw-edge-1', 'inventory.isps[1].devices[0].name: is a duplicate (device name "nw-edge-1")'],
    ['vlan on unknown device', [...R0, 'vlans', 0, 'device'], 'ghost-router', `inventory.isps[0].resellers[0].vlans[0].device: ${RULES.unknownDevice} ("ghost-router")`],
    ['vlan on another isp device', [...R0, 'vlans', 0, 'device'], 'sg-core-1', `inventory.isps[0].resellers[0].vlans[0].device: ${RULES.unknownDevice} ("sg-core-1")`],
    ['vlan with two match rules', [...R0, 'vlans', 0, 'vlan_id'], 10, `inventory.isps[0].resellers[0].vlans[0]: ${RULES.oneMatch}`],
    ['vlan with no match rule', [...R0, 'vlans', 0, 'if_name'], undefined, `inventory.isps[0].resellers[0].vlans[0]: ${RULES.oneMatch}`],
    ['vlan id out of range', ['inventory', 'isps', 0, 'resellers', 1, 'vlans', 0, 'vlan_id'], 5000, 'inventory.isps[0].resellers[1].vlans[0].vlan_id: Too big: expected number to be <=4094'],
    ['bad regex', ['inventory', 'isps', 0, 'resellers', 2, 'vlans', 0, 'if_alias_regex'], '(unclosed', `inventory.isps[0].resellers[2].vlans[0].if_alias_regex: ${RULES.regex}`],
    ['bad ip', [...R0, 'ips', 1], '10.0.0.300', `inventory.isps[0].resellers[0].ips[1]: ${RULES.ip}`],
    ['hostname as ip', [...R0, 'ips', 0], 'router.example', `inventory.isps[0].resellers[0].ips[0]: ${RULES.ip}`],
    ['ip owned twice', ['inventory', 'isps', 0, 'resellers', 1, 'ips', 0], '127.0.1.10', 'inventory.isps[0].resellers[1].ips[0]: is a duplicate (ip 127.0.1.10 already belongs to acme-net)'],
    ['unknown snmp auth ref', [...D0, 'auth'], 'nope', `inventory.isps[0].devices[0].auth: ${RULES.unknownAuth} ("nope")`],
    ['device port out of range', [...D0, 'port'], 70000, 'inventory.isps[0].devices[0].port: Too big: expected number to be <=65535'],
    ['device missing host', [...D0, 'host'], undefined, 'inventory.isps[0].devices[0].host: is required'],
    ['bad whatsapp number', [...R0, 'contacts', 0, 'whatsapp'], '555-0101', `inventory.isps[0].resellers[0].contacts[0].whatsapp: ${RULES.e164}`],
    ['unknown key in reseller', [...R0, 'committed_rate'], 5, 'inventory.isps[0].resellers[0].committed_rate: unknown key "committed_rate"'],
    ['unknown top-level key', ['colector'], {}, 'colector: unknown key "colector"'],
    ['poll interval too short', ['collector', 'poll_interval_seconds'], 5, 'collector.poll_interval_seconds: Too small: expected number to be >=10'],
    ['unknown ping backend', ['ping', 'backend'], 'icmp', 'ping.backend: Invalid option: expected one of "auto"|"fping"|"ping"'],
    ['influx api v3', ['influx', 'api'], 'v3', 'influx.api: Invalid option: expected one of "v1"|"v2"'],
    ['influx v1 without database', ['influx', 'database'], undefined, `influx.database: ${RULES.influxV1}`],
    ['influx v2 without bucket', ['influx', 'api'], 'v2', `influx.api: ${RULES.influxV2}`],
    ['influx url not a url', ['influx', 'url'], 'localhost:8086', 'influx.url: must be an http(s) URL'],
    ['v3 auth without username', ['snmp', 'auths', 'demo_v3', 'username'], undefined, `snmp.auths.demo_v3.username: ${RULES.v3User}`],
    ['v3 short auth password', ['snmp', 'auths', 'demo_v3', 'auth_password'], 'short', `snmp.auths.demo_v3.auth_password: ${RULES.v3AuthPassword}`],
    ['v3 unknown auth protocol', ['snmp', 'auths', 'demo_v3', 'auth_protocol'], 'sha1024', 'snmp.auths.demo_v3.auth_protocol: Invalid option: expected one of "md5"|"sha"|"sha224"|"sha256"|"sha384"|"sha512"'],
    ['v2c auth without community', ['snmp', 'auths', 'demo_v2', 'community'], undefined, `snmp.auths.demo_v2.community: ${RULES.v2Community}`],
    ['yellow clear above raise', ['alerting', 'utilization', 'clear_yellow_percent'], 85, `alerting.utilization.clear_yellow_percent: ${RULES.clearBelowRaise}`],
    ['red below yellow', ['alerting', 'utilization', 'red_percent'], 70, 'alerting.utilization.red_percent: must be above yellow_percent'],
    ['uplink clear above threshold', ['alerting', 'uplink', 'clear_mbps'], 990, `alerting.uplink.clear_mbps: ${RULES.clearBelowRaise}`],
    ['twilio from without whatsapp prefix', ['twilio'], { account_sid: 'AC1', auth_token: 't', from: '+15550100000' }, 'twilio.from: must be whatsapp:+E164'],
    ['twilio bad template sid', ['twilio'], { account_sid: 'AC1', auth_token: 't', from: 'whatsapp:+15550100000', templates: { link_down: 'HX12' } }, 'twilio.templates.link_down: must be a Twilio Content SID (HX + 32 hex digits)'],
    ['postgres url missing', ['postgres', 'url'], undefined, 'postgres.url: is required'],
  ])('%s', (_name, path, value, expected) => {
    expect(problemsOf(mutate(path, value))).toContain(expected);
  });

  it('reports every problem at once, not just the first', () => {
    let text = mutate([...R0, 'committed_mbps'], -1);
    const doc = parseDocument(text);
    doc.setIn([...D0, 'auth'], 'nope');
    doc.setIn(['ping', 'backend'], 'icmp');
    text = doc.toString();
    expect(problemsOf(text)).toHaveLength(3);
  });

  it('gives the line number of the offending value', () => {
    const text = mutate([...R0, 'committed_mbps'], -5);
    const line = text.split('\n').findIndex((l) => l.includes('committed_mbps: -5')) + 1;
    try {
      parseConfig(text, 't.yaml', ENV);
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).problems[0]).toMatchObject({ path: 'inventory.isps[0].resellers[0].committed_mbps', line });
    }
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = (() => {
      try {
        parseConfig('postgres:\n  url: "x\n', 't.yaml', ENV);
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    })();
    expect(problems[0]?.path).toBe('(yaml)');
    expect(problems[0]?.line).toBeGreaterThan(0);
  });

  it('rejects duplicate keys in the YAML itself', () => {
    expect(() => parseConfig('api:\n  port: 1\napi:\n  port: 2\n', 't.yaml', ENV)).toThrow(/Map keys must be unique/);
  });
});

describe('secrets', () => {
  it('expands ${ENV} only in secret fields', () => {
    const text = mutate(['inventory', 'isps', 0, 'name'], '${ISP_NAME}');
    const cfg = parseConfig(text, 't.yaml', { BANDWATCH_POSTGRES_URL: 'postgres://u:pw@db/x', ISP_NAME: 'expanded' });
    expect(cfg.postgres.url.reveal()).toBe('postgres://u:pw@db/x');
    expect(cfg.inventory.isps[0]?.name).toBe('${ISP_NAME}');
  });

  it('uses the :- default when the variable is unset', () => {
    const cfg = parseConfig(EXAMPLE, 't.yaml', {});
    expect(cfg.snmp.auths.demo_v2?.community?.reveal()).toBe('public');
  });

  it('reports an unset variable without a default at the secret path', () => {
    const text = mutate(['postgres', 'url'], '${NOT_SET_ANYWHERE}');
    expect(problemsOf(text, {})).toContain('postgres.url: environment variable NOT_SET_ANYWHERE is not set');
  });

  it('prints <secret> in JSON, util.inspect, string interpolation and pino logs', () => {
    const env = { BANDWATCH_POSTGRES_URL: 'postgres://u:hunter2@db/x', BANDWATCH_SNMP_COMMUNITY: 'c0mmunity-s3cret' };
    const cfg = parseConfig(EXAMPLE, 't.yaml', env);
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    });
    pino({}, sink).info({ config: cfg }, 'loaded');
    const renderings = [JSON.stringify(redactedConfig(cfg)), inspect(cfg, { depth: 10 }), `${cfg.postgres.url}`, chunks.join('')];
    for (const text of renderings) {
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('c0mmunity-s3cret');
      expect(text).toContain('<secret>');
    }
  });
});
