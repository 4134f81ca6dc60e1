import { isIP } from 'node:net';
import { z } from 'zod';
import { Secret, expandEnv, missingEnvRefs } from './secret';

/*
 * The one config schema. YAML keys are snake_case and identical here (no
 * renaming layer), every object is strict (an unknown key is an error, as in
 * snmp_exporter), and defaults live here, not in the code that reads them.
 * Rule messages come from RULES so docs and tests quote the same words.
 */

export const RULES = {
  slug: 'must be a slug: lowercase letters, digits and dashes, 1-63 characters, starting with a letter or digit',
  positiveRate: 'must be > 0',
  e164: 'must be an E.164 number like +15551234567',
  ip: 'must be an IPv4 or IPv6 address',
  oneMatch: 'needs exactly one match rule: if_name, if_name_regex, if_alias, if_alias_regex or vlan_id',
  regex: 'is not a valid regular expression',
  duplicate: 'is a duplicate',
  unknownDevice: 'names a device that this ISP does not declare',
  unknownAuth: 'names an snmp auth that snmp.auths does not declare',
  v3User: 'SNMP v3 needs username',
  v3AuthPassword: 'needs auth_password (at least 8 characters) for this security_level',
  v3PrivPassword: 'needs priv_password (at least 8 characters) for security_level authPriv',
  v2Community: 'SNMP v2c/v1 needs community',
  clearBelowRaise: 'must be below the raise threshold it clears',
  influxV2: 'influx.api v2 needs org and bucket',
  influxV1: 'influx.api v1 needs database',
} as const;

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const E164 = /^\+[1-9]\d{6,14}$/;

const slug = z.string().regex(SLUG, RULES.slug);
const port = z.number().int().min(1).max(65535);
const seconds = (min: number, max: number) => z.number().int().min(min).max(max);
const percent = z.number().gt(0).max(1000);
const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/**
 * A secret field. `${VAR}` / `${VAR:-default}` are expanded here and only
 * here; a reference to an unset variable is a config error at its YAML path.
 */
function secret(env: NodeJS.ProcessEnv) {
  return z.string().transform((raw, ctx) => {
    for (const name of missingEnvRefs(raw, env)) {
      ctx.addIssue({ code: 'custom', message: `environment variable ${name} is not set` });
    }
    return new Secret(expandEnv(raw, env));
  }).meta({ secret: true });
}

function regexString() {
  return z.string().min(1).refine((s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  }, RULES.regex);
}

export function makeConfigSchema(env: NodeJS.ProcessEnv = process.env) {
  const s = () => secret(env);

  const logging = z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
      format: z.enum(['json', 'pretty']).default('json'),
    })
    .prefault({});

  const postgres = z.strictObject({
    url: s(),
    pool_max: z.number().int().min(1).max(200).default(10),
    statement_timeout_ms: z.number().int().min(100).default(15000),
  });

  const spool = z
    .strictObject({
      dir: z.string().min(1).default('.data/spool'),
      max_bytes: z.number().int().min(1024).default(512 * 1024 * 1024),
    })
    .prefault({});

  const influx = z
    .strictObject({
      url: httpUrl(),
      api: z.enum(['v1', 'v2']).default('v1'),
      database: z.string().min(1).optional(),
      retention_policy: z.string().min(1).optional(),
      org: z.string().min(1).optional(),
      bucket: z.string().min(1).optional(),
      token: s().optional(),
      username: z.string().optional(),
      password: s().optional(),
      batch_size: z.number().int().min(1).max(100000).default(5000),
      flush_interval_ms: z.number().int().min(100).default(1000),
      gzip_threshold_bytes: z.number().int().min(0).default(1000),
      timeout_ms: z.number().int().min(100).default(10000),
      // Backoff between write attempts while InfluxDB is unreachable (the spool holds the data meanwhile).
      retry_initial_ms: z.number().int().min(10).default(500),
      retry_max_ms: z.number().int().min(100).default(15000),
      spool,
    })
    .superRefine((v, ctx) => {
      if (v.api === 'v2' && (!v.org || !v.bucket)) ctx.addIssue({ code: 'custom', message: RULES.influxV2, path: ['api'] });
      if (v.api === 'v1' && !v.database) ctx.addIssue({ code: 'custom', message: RULES.influxV1, path: ['database'] });
    });

  const authProtocol = z.enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512']);
  const privProtocol = z.enum(['des', 'aes', 'aes256b', 'aes256r']);

  // Credentials live apart from devices (snmp_exporter's `auths`): a device
  // names one by key, so rotating a community touches one place.
  const snmpAuth = z
    .strictObject({
      version: z.enum(['1', '2c', '3']).default('2c'),
      community: s().optional(),
      username: z.string().min(1).optional(),
      security_level: z.enum(['noAuthNoPriv', 'authNoPriv', 'authPriv']).default('authPriv'),
      auth_protocol: authProtocol.default('sha'),
      auth_password: s().optional(),
      priv_protocol: privProtocol.default('aes'),
      priv_password: s().optional(),
      context_name: z.string().optional(),
    })
    .superRefine((a, ctx) => {
      if (a.version === '3') {
        if (!a.username) ctx.addIssue({ code: 'custom', message: RULES.v3User, path: ['username'] });
        const needsAuth = a.security_level !== 'noAuthNoPriv';
        if (needsAuth && (!a.auth_password || a.auth_password.reveal().length < 8)) {
          ctx.addIssue({ code: 'custom', message: RULES.v3AuthPassword, path: ['auth_password'] });
        }
        if (a.security_level === 'authPriv' && (!a.priv_password || a.priv_password.reveal().length < 8)) {
          ctx.addIssue({ code: 'custom', message: RULES.v3PrivPassword, path: ['priv_password'] });
        }
      } else if (!a.community) {
        ctx.addIssue({ code: 'custom', message: RULES.v2Community, path: ['community'] });
      }
    });

  const snmp = z
    .strictObject({
      timeout_ms: z.number().int().min(100).max(60000).default(2000),
      retries: z.number().int().min(0).max(10).default(1),
      port: port.default(161),
      max_repetitions: z.number().int().min(1).max(200).default(25),
      max_varbinds_per_pdu: z.number().int().min(1).max(500).default(60),
      max_in_flight_per_device: z.number().int().min(1).max(2).default(1),
      max_concurrent_requests: z.number().int().min(1).max(10000).default(200),
      fast_get: z
        .boolean()
        .default(true)
        .describe(
          'GETs to SNMP v1/v2c devices use requests encoded once per OID list, a socket per device and a decoder that builds no OID strings (much less CPU per varbind); v3 devices and walks (GETBULK) always use net-snmp. Turn it off for an agent that net-snmp polls but this path does not: protocol errors, or timeouts from an agent that answers from another address or port than the one polled.',
        ),
      auths: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), snmpAuth).default({}),
    })
    .prefault({});

  const httpListen = (defaultPort: number) =>
    z
      .strictObject({
        listen: z.string().min(1).default('127.0.0.1'),
        port: port.default(defaultPort),
      })
      .prefault({});

  const collector = z
    .strictObject({
      poll_interval_seconds: seconds(10, 3600).default(60),
      discovery_interval_seconds: seconds(60, 86400).default(3600),
      rollup_interval_seconds: seconds(60, 3600).default(300),
      overspeed_tolerance_percent: z.number().min(0).max(100).default(5),
      shard: z
        .strictObject({ index: z.number().int().min(0).default(0), count: z.number().int().min(1).default(1) })
        .prefault({}),
      http: httpListen(9105),
    })
    .prefault({});

  const ping = z
    .strictObject({
      backend: z.enum(['auto', 'fping', 'ping']).default('auto'),
      interval_seconds: seconds(1, 3600).default(10),
      probes: z.number().int().min(1).max(20).default(3),
      timeout_ms: z.number().int().min(50).max(10000).default(1000),
      down_after_failures: z.number().int().min(1).max(100).default(3),
      up_after_successes: z.number().int().min(1).max(100).default(2),
      degraded: z
        .strictObject({
          loss_percent: z.number().min(0).max(100).default(20),
          rtt_ms: z.number().min(0).default(150),
          rounds: z.number().int().min(1).max(100).default(3),
        })
        .prefault({}),
      idle: z
        .strictObject({
          floor_mbps: z.number().min(0).default(0.1),
          minutes: z.number().int().min(1).max(1440).default(15),
        })
        .prefault({}),
      jitter_window_rounds: z.number().int().min(2).max(1000).default(30),
      // fping -p: gap between probes to one target; unset = timeout_ms, so a
      // reply is never still in flight when the next probe to it leaves.
      probe_period_ms: z.number().int().min(10).max(60000).optional(),
      // fping -i: gap between any two probes; unset = spread the round's
      // probes over half the interval so 10k targets never leave as one burst.
      send_interval_ms: z.number().min(0).max(1000).optional(),
      // Run probes inside this network namespace (`ip netns exec`), e.g. a
      // management VRF; fping backend only.
      netns: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
      // The npm ping backend spawns one ping process per target: bound them.
      max_concurrent_processes: z.number().int().min(1).max(1000).default(64),
      // How often the target list is re-read from the inventory (at most once per round).
      inventory_refresh_seconds: z.number().int().min(1).max(3600).default(30),
    })
    .prefault({});

  const utilization = z
    .strictObject({
      window_seconds: seconds(30, 86400).default(300),
      yellow_percent: percent.default(80),
      red_percent: percent.default(100),
      clear_yellow_percent: percent.default(75),
      clear_red_percent: percent.default(95),
      for_seconds: seconds(0, 86400).default(0),
    })
    .prefault({})
    .superRefine((u, ctx) => {
      if (u.clear_yellow_percent >= u.yellow_percent) ctx.addIssue({ code: 'custom', message: RULES.clearBelowRaise, path: ['clear_yellow_percent'] });
      if (u.clear_red_percent >= u.red_percent) ctx.addIssue({ code: 'custom', message: RULES.clearBelowRaise, path: ['clear_red_percent'] });
      if (u.red_percent <= u.yellow_percent) ctx.addIssue({ code: 'custom', message: 'must be above yellow_percent', path: ['red_percent'] });
    });

  const uplink = z
    .strictObject({
      threshold_mbps: z.number().gt(0).default(950),
      clear_mbps: z.number().gt(0).default(900),
      window_seconds: seconds(30, 86400).default(300),
    })
    .prefault({})
    .superRefine((u, ctx) => {
      if (u.clear_mbps >= u.threshold_mbps) ctx.addIssue({ code: 'custom', message: RULES.clearBelowRaise, path: ['clear_mbps'] });
    });

  const alerting = z
    .strictObject({
      evaluation_interval_seconds: seconds(5, 3600).optional(),
      utilization,
      uplink,
      link: z
        .strictObject({
          flap_count: z.number().int().min(2).max(100).default(4),
          flap_window_seconds: seconds(60, 86400).default(900),
        })
        .prefault({}),
      no_data: z.strictObject({ intervals: z.number().int().min(1).max(1000).default(3) }).prefault({}),
      dispatch: z
        .strictObject({
          max_attempts: z.number().int().min(1).max(50).default(8),
          backoff_initial_ms: z.number().int().min(10).default(1000),
          backoff_max_ms: z.number().int().min(100).default(300000),
          sender_rate_per_second: z.number().gt(0).max(1000).default(10),
          recipient_min_gap_seconds: seconds(0, 86400).default(60),
          // Bounds one provider call, so a hung request becomes a retryable timeout.
          request_timeout_ms: z.number().int().min(100).max(120000).default(10000),
        })
        .prefault({}),
      channel: z.enum(['auto', 'twilio-whatsapp', 'console']).default('auto'),
      http: httpListen(9106),
    })
    .prefault({});

  const templateSid = z.string().regex(/^HX[0-9a-fA-F]{32}$/, 'must be a Twilio Content SID (HX + 32 hex digits)');
  const twilio = z
    .strictObject({
      account_sid: s(),
      auth_token: s(),
      from: z.string().regex(/^whatsapp:\+[1-9]\d{6,14}$/, 'must be whatsapp:+E164'),
      status_callback_url: httpUrl().optional(),
      api_base_url: httpUrl().optional(),
      templates: z
        .strictObject({
          utilization_yellow: templateSid.optional(),
          utilization_red: templateSid.optional(),
          utilization_resolved: templateSid.optional(),
          uplink_high: templateSid.optional(),
          uplink_resolved: templateSid.optional(),
          link_down: templateSid.optional(),
          link_up: templateSid.optional(),
          link_flapping: templateSid.optional(),
          no_data: templateSid.optional(),
          no_data_resolved: templateSid.optional(),
          link_flapping_resolved: templateSid.optional(),
          digest: templateSid.optional(),
        })
        .prefault({}),
    })
    .optional();

  const api = z
    .strictObject({
      listen: z.string().min(1).default('127.0.0.1'),
      port: port.default(8080),
      cors_origins: z.array(z.string()).default([]),
    })
    .prefault({});

  const supabase = z
    .strictObject({
      url: httpUrl(),
      jwt_secret: s().optional(),
      jwks_url: httpUrl().optional(),
      anon_key: s().optional(),
    })
    .optional();

  const contact = z.strictObject({
    name: z.string().min(1),
    whatsapp: z.string().regex(E164, RULES.e164),
  });

  const vlan = z
    .strictObject({
      device: z.string().min(1),
      if_name: z.string().min(1).optional(),
      if_name_regex: regexString().optional(),
      if_alias: z.string().min(1).optional(),
      if_alias_regex: regexString().optional(),
      vlan_id: z.number().int().min(1).max(4094).optional(),
    })
    .superRefine((v, ctx) => {
      const rules = [v.if_name, v.if_name_regex, v.if_alias, v.if_alias_regex, v.vlan_id].filter((x) => x !== undefined);
      if (rules.length !== 1) ctx.addIssue({ code: 'custom', message: RULES.oneMatch });
    });

  const ipEntry = z.union([
    z.string().refine((a) => isIP(a) !== 0, RULES.ip),
    z.strictObject({ address: z.string().refine((a) => isIP(a) !== 0, RULES.ip), label: z.string().optional() }),
  ]);

  const thresholds = z
    .strictObject({
      yellow_percent: percent.optional(),
      red_percent: percent.optional(),
      uplink_threshold_mbps: z.number().gt(0).optional(),
    })
    .optional();

  const reseller = z.strictObject({
    slug,
    name: z.string().min(1),
    committed_mbps: z.number().gt(0, RULES.positiveRate),
    contacts: z.array(contact).default([]),
    thresholds,
    vlans: z.array(vlan).default([]),
    ips: z.array(ipEntry).default([]),
  });

  const device = z.strictObject({
    name: slug,
    host: z.string().min(1),
    port: port.optional(),
    auth: z.string().min(1),
    uplink_capacity_mbps: z.number().gt(0).optional(),
    timeout_ms: z.number().int().min(100).max(60000).optional(),
    retries: z.number().int().min(0).max(10).optional(),
  });

  const isp = z.strictObject({
    slug,
    name: z.string().min(1),
    ops_contacts: z.array(contact).default([]),
    thresholds,
    devices: z.array(device).default([]),
    resellers: z.array(reseller).default([]),
  });

  const inventory = z.strictObject({ isps: z.array(isp).default([]) }).prefault({});

  return z
    .strictObject({
      logging,
      postgres,
      influx,
      snmp,
      collector,
      ping,
      alerting,
      twilio,
      api,
      supabase,
      inventory,
  });
}

export interface CrossCheckProblem {
  path: Array<string | number>;
  message: string;
}

const asArray = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const asRecord = (x: unknown): Record<string, unknown> => (x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : {});
const asString = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);

/**
 * Cross-references the schema alone cannot see: uniqueness and references by
 * name. It reads the raw document defensively so that these problems are
 * reported together with field errors, not only once every field is valid.
 */
export function crossCheckInventory(raw: unknown): CrossCheckProblem[] {
  const problems: CrossCheckProblem[] = [];
  const add = (path: Array<string | number>, message: string) => problems.push({ path, message });
  const root = asRecord(raw);
  const auths = asRecord(asRecord(root.snmp).auths);
  const ispSlugs = new Set<string>();
  const resellerSlugs = new Set<string>();
  const deviceNames = new Set<string>();
  const ipsSeen = new Map<string, string>();
  asArray(asRecord(root.inventory).isps).forEach((ispRaw, i) => {
    const isp = asRecord(ispRaw);
    const ispPath = ['inventory', 'isps', i];
    const ispSlug = asString(isp.slug);
    if (ispSlug !== undefined) {
      if (ispSlugs.has(ispSlug)) add([...ispPath, 'slug'], `${RULES.duplicate} (isp slug "${ispSlug}")`);
      ispSlugs.add(ispSlug);
    }
    const local = new Set<string>();
    asArray(isp.devices).forEach((dRaw, j) => {
      const d = asRecord(dRaw);
      const p = [...ispPath, 'devices', j];
      const name = asString(d.name);
      // Device names are global: they are InfluxDB tag values and CLI arguments.
      if (name !== undefined) {
        if (deviceNames.has(name)) add([...p, 'name'], `${RULES.duplicate} (device name "${name}")`);
        deviceNames.add(name);
        local.add(name);
      }
      const auth = asString(d.auth);
      if (auth !== undefined && !(auth in auths)) add([...p, 'auth'], `${RULES.unknownAuth} ("${auth}")`);
    });
    asArray(isp.resellers).forEach((rRaw, j) => {
      const r = asRecord(rRaw);
      const p = [...ispPath, 'resellers', j];
      const slug = asString(r.slug);
      if (slug !== undefined) {
        if (resellerSlugs.has(slug)) add([...p, 'slug'], `${RULES.duplicate} (reseller slug "${slug}")`);
        resellerSlugs.add(slug);
      }
      asArray(r.vlans).forEach((v, k) => {
        const device = asString(asRecord(v).device);
        if (device !== undefined && !local.has(device)) add([...p, 'vlans', k, 'device'], `${RULES.unknownDevice} ("${device}")`);
      });
      asArray(r.ips).forEach((ip, k) => {
        const address = typeof ip === 'string' ? ip : asString(asRecord(ip).address);
        if (address === undefined) return;
        const owner = ipsSeen.get(address);
        if (owner !== undefined) add([...p, 'ips', k], `${RULES.duplicate} (ip ${address} already belongs to ${owner})`);
        ipsSeen.set(address, slug ?? '?');
      });
    });
  });
  return problems;
}

export type Config = z.output<ReturnType<typeof makeConfigSchema>>;
export type InventoryConfig = Config['inventory'];
export type IspConfig = InventoryConfig['isps'][number];
export type DeviceConfig = IspConfig['devices'][number];
export type ResellerConfig = IspConfig['resellers'][number];
export type VlanRuleConfig = ResellerConfig['vlans'][number];
export type SnmpAuthConfig = Config['snmp']['auths'][string];
export type TwilioConfig = NonNullable<Config['twilio']>;
