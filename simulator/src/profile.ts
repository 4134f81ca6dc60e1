import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { formatPath } from '@bandwatch/core';
import type { TrafficModel } from './trafficModel';

/*
 * The simulator's profile file: which devices to pretend to be, their
 * credentials and interfaces, and the traffic model of each interface.
 * Strict like the main config: an unknown key is an error naming its path.
 */

const mbps = z.number().min(0);

export const trafficModelSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant'), mbps }),
  z.strictObject({
    kind: z.literal('diurnal'),
    min_mbps: mbps,
    max_mbps: mbps,
    period_seconds: z.number().positive().default(86400),
    phase_seconds: z.number().default(0),
  }),
  z.strictObject({
    kind: z.literal('step'),
    steps: z.array(z.strictObject({ mbps, seconds: z.number().positive() })).min(1),
    repeat: z.boolean().default(true),
  }),
  z.strictObject({
    kind: z.literal('burst'),
    base_mbps: mbps,
    burst_mbps: mbps,
    every_seconds: z.number().positive(),
    burst_seconds: z.number().positive(),
    offset_seconds: z.number().min(0).default(0),
  }),
]);

const v3User = z.strictObject({
  username: z.string().min(1),
  security_level: z.enum(['noAuthNoPriv', 'authNoPriv', 'authPriv']).default('authPriv'),
  auth_protocol: z.enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512']).default('sha'),
  auth_password: z.string().min(8).optional(),
  priv_protocol: z.enum(['des', 'aes', 'aes256b', 'aes256r']).default('aes'),
  priv_password: z.string().min(8).optional(),
});

const ifName = z.string().min(1).max(64);

const simInterface = z.strictObject({
  name: ifName,
  alias: z.string().default(''),
  descr: z.string().optional(),
  if_index: z.number().int().min(1).max(2147483647).optional(),
  speed_mbps: z.number().int().min(0).max(4294967295),
  oper_status: z.enum(['up', 'down']).default('up'),
  in: trafficModelSchema.default({ kind: 'constant', mbps: 0 }),
  /** Absent: outbound follows inbound scaled by out_ratio. */
  out: trafficModelSchema.optional(),
  out_ratio: z.number().min(0).default(0.25),
});

/** Many similar interfaces without writing each one: `{n}` is 1..count plus vlan_start - 1. */
const generated = z.strictObject({
  count: z.number().int().min(1).max(100000),
  name_template: z.string().min(1).default('ether2.{n}'),
  alias_template: z.string().default('CUST-{n}'),
  vlan_start: z.number().int().min(0).default(1),
  speed_mbps: z.number().int().min(0).default(100),
  in: trafficModelSchema.default({ kind: 'constant', mbps: 10 }),
  out_ratio: z.number().min(0).default(0.25),
});

const device = z
  .strictObject({
    name: z.string().min(1),
    address: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535),
    community: z.string().min(1).optional(),
    v3_users: z.array(v3User).default([]),
    sys_descr: z.string().default('Bandwatch simulated router'),
    sys_object_id: z.string().regex(/^\d+(\.\d+)+$/).default('1.3.6.1.4.1.14988.1'),
    /** false: an old agent with only the 32-bit ifTable counters (no ifXTable). */
    if_xtable: z.boolean().default(true),
    interfaces: z.array(simInterface).default([]),
    generate: generated.optional(),
  })
  .superRefine((d, ctx) => {
    if (!d.community && d.v3_users.length === 0) ctx.addIssue({ code: 'custom', message: 'needs a community or at least one v3 user', path: ['community'] });
    d.v3_users.forEach((u, i) => {
      if (u.security_level !== 'noAuthNoPriv' && !u.auth_password) ctx.addIssue({ code: 'custom', message: 'needs auth_password for this security_level', path: ['v3_users', i, 'auth_password'] });
      if (u.security_level === 'authPriv' && !u.priv_password) ctx.addIssue({ code: 'custom', message: 'needs priv_password for authPriv', path: ['v3_users', i, 'priv_password'] });
    });
    const names = new Set<string>();
    d.interfaces.forEach((itf, i) => {
      if (names.has(itf.name)) ctx.addIssue({ code: 'custom', message: `is a duplicate ("${itf.name}")`, path: ['interfaces', i, 'name'] });
      names.add(itf.name);
    });
  });

export const profileSchema = z.strictObject({
  devices: z.array(device).min(1),
});

export type SimProfile = z.output<typeof profileSchema>;
export type SimDeviceProfile = SimProfile['devices'][number];
export type SimInterfaceProfile = z.output<typeof simInterface>;
export type SimV3User = z.output<typeof v3User>;

// The schema's output must stay assignable to the pure model type.
const _modelCheck: (m: z.output<typeof trafficModelSchema>) => TrafficModel = (m) => m;
void _modelCheck;

export class ProfileError extends Error {
  readonly problems: string[];

  constructor(file: string, problems: string[]) {
    super(`${file}: ${problems.length} problem(s)\n${problems.join('\n')}`);
    this.name = 'ProfileError';
    this.problems = problems;
  }
}

/** Validates an already-parsed profile (e.g. built in a test). */
export function parseProfile(raw: unknown, file = 'profile'): SimProfile {
  const result = profileSchema.safeParse(raw);
  if (!result.success) {
    throw new ProfileError(
      file,
      result.error.issues.flatMap((issue) => {
        if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown key`);
        return [`${formatPath(issue.path) || '(root)'}: ${issue.message}`];
      }),
    );
  }
  return result.data;
}

export function parseProfileText(text: string, file = 'profile.yaml'): SimProfile {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw new ProfileError(file, doc.errors.map((e) => `(yaml): ${e.message.split('\n')[0]}`));
  return parseProfile(doc.toJS(), file);
}

export function loadProfile(file: string): SimProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ProfileError(file, [`(file): cannot read: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`]);
  }
  return parseProfileText(text, file);
}

/** The interfaces a device profile declares, with `generate` expanded. */
export function expandInterfaces(d: SimDeviceProfile): SimInterfaceProfile[] {
  const out = [...d.interfaces];
  const g = d.generate;
  if (g) {
    for (let i = 1; i <= g.count; i++) {
      const n = String(g.vlan_start + i - 1);
      out.push({
        name: g.name_template.replaceAll('{n}', n),
        alias: g.alias_template.replaceAll('{n}', n),
        speed_mbps: g.speed_mbps,
        oper_status: 'up',
        in: g.in,
        out_ratio: g.out_ratio,
      });
    }
  }
  return out;
}
