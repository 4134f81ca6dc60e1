import { z } from 'zod';
import { makeConfigSchema } from './schema';

/*
 * The config reference in README.md is generated from the schema (`npm run
 * config:reference`) and a test compares the two, so the documentation cannot
 * drift from what the loader accepts.
 */

export const SECTION_DOCS: Record<string, string> = {
  logging: 'Log level and format of every process (JSON for machines, pretty on a terminal).',
  postgres: 'The database (Supabase or any PostgreSQL 15+): inventory, rollups, link state, alerts, outbox.',
  influx: 'Where raw series go. `api: v1` writes `/write` (InfluxDB 1.x); `v2` writes `/api/v2/write` (2.x, 3.x). Reads are InfluxQL. The spool holds writes on disk while InfluxDB is down.',
  snmp: 'SNMP defaults and credentials. `auths` are named credential sets that devices refer to by name (kept apart from devices, as in snmp_exporter).',
  collector: 'Polling, discovery and rollup intervals, sharding, and the /metrics + /healthz listener.',
  ping: 'Link monitoring: probe backend, rounds, and the UP / DEGRADED / DOWN / IDLE state machine thresholds.',
  alerting: 'Alert rules (utilization, uplink aggregate, link, no data), notification dispatch limits, channel, and the alerter listener.',
  twilio: 'WhatsApp delivery through Twilio. Without this section the console channel prints messages instead.',
  api: 'The REST API listener.',
  supabase: 'Supabase project URL and how access tokens are verified (HS256 secret or JWKS).',
  inventory: 'Inventory as code: ISPs → devices and resellers → VLAN rules and IPs. `bandwatch inventory apply` upserts it into the database.',
};

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
  format?: string;
  required?: string[];
  secret?: boolean;
  description?: string;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function describeType(s: JsonSchema): string {
  if (s.enum) return s.enum.map((e) => `\`${String(e)}\``).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(describeType).join(' or ');
  if (s.type === 'array') return `list of ${s.items ? describeType(s.items) : 'any'}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return 'map of name → object';
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
}

function constraints(s: JsonSchema): string {
  const parts: string[] = [];
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.minimum !== undefined && s.minimum > -MAX_SAFE) parts.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined && s.maximum < MAX_SAFE) parts.push(`≤ ${s.maximum}`);
  if (s.format === 'uri') parts.push('URL');
  if (s.pattern) parts.push(`matches \`${s.pattern.replace(/\|/g, '\\|')}\``);
  return parts.join(', ');
}

function formatDefault(s: JsonSchema): string {
  if (s.default === undefined) return '';
  if (typeof s.default === 'object' && s.default !== null && Object.keys(s.default).length === 0) return '';
  return `\`${JSON.stringify(s.default)}\``;
}

function rows(s: JsonSchema, path: string, required: boolean, out: string[]): void {
  // Objects with fixed keys are headings for their keys, not rows of their own.
  if (!s.properties && path) {
    const notes = [s.description?.replace(/\|/g, '\\|') ?? '', s.secret ? 'secret: `${ENV}` expanded, printed as `<secret>`' : '', constraints(s)].filter(Boolean).join('; ');
    out.push(`| \`${path}\` | ${describeType(s)} | ${required ? 'yes' : ''} | ${formatDefault(s)} | ${notes} |`);
  }
  if (s.properties) {
    for (const [key, child] of Object.entries(s.properties)) rows(child, path ? `${path}.${key}` : key, (s.required ?? []).includes(key), out);
  }
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') {
    rows(s.additionalProperties, `${path}.<name>`, false, out);
  }
  if (s.type === 'array' && s.items) {
    const item = s.items.properties ? s.items : s.items.anyOf?.find((x) => x.properties);
    if (item?.properties) {
      for (const [key, child] of Object.entries(item.properties)) rows(child, `${path}[].${key}`, (item.required ?? []).includes(key), out);
    }
  }
}

/** The markdown reference: one table per top-level section. */
export function configReference(): string {
  const schema = z.toJSONSchema(makeConfigSchema({}), { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const parts: string[] = [];
  for (const [section, s] of Object.entries(schema.properties ?? {})) {
    const body: string[] = [];
    rows(s, section, false, body);
    parts.push(
      [
        `### \`${section}\`${(schema.required ?? []).includes(section) ? ' (required)' : ''}`,
        '',
        SECTION_DOCS[section] ?? '',
        '',
        '| key | type | required | default | notes |',
        '| --- | --- | --- | --- | --- |',
        ...body,
        '',
      ].join('\n'),
    );
  }
  return parts.join('\n');
}

export const REFERENCE_START = '<!-- config-reference:start (generated by `npm run config:reference -- --write`; do not edit) -->';
export const REFERENCE_END = '<!-- config-reference:end -->';

/** README text with the generated block between the markers replaced by `reference`. */
export function embedReference(readme: string, reference: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error('README.md has no config-reference markers');
  return `${readme.slice(0, start + REFERENCE_START.length)}\n\n${reference}\n${readme.slice(end)}`;
}
