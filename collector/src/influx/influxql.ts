/*
 * InfluxQL building, pure. Tenant values (reseller slugs, device names,
 * anything a request or a database row supplies) only ever enter a query as
 * an escaped string literal or identifier: never concatenated raw. The
 * alerter and the API build their queries with `influxql` below.
 *
 *   influxql`SELECT mean(${ident('in_bps')}) FROM ${ident('vlan_rate')} WHERE reseller = ${slug} AND time > now() - ${duration(300, 's')}`
 */

const FRAGMENT = Symbol('influxql.fragment');

/** A piece of query text that is already safe (built here). */
export interface InfluxQLFragment {
  readonly [FRAGMENT]: true;
  readonly text: string;
}

function fragment(text: string): InfluxQLFragment {
  return { [FRAGMENT]: true, text };
}

function isFragment(v: unknown): v is InfluxQLFragment {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[FRAGMENT] === true;
}

/** `"name"` with `\` and `"` escaped: measurement, tag, field and database names. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** `'value'` with `\` and `'` escaped (newlines too, which would end a statement in the CLI). */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** Escapes a value for use inside a /regex/ literal, matching it literally. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$.*+?()[\]{}|/]/g, (c) => `\\${c}`);
}

export function ident(name: string): InfluxQLFragment {
  return fragment(quoteIdentifier(name));
}

/** A trusted, constant piece of query text (never pass tenant input). */
export function raw(text: string): InfluxQLFragment {
  return fragment(text);
}

const DURATION_UNITS = ['ms', 's', 'm', 'h', 'd', 'w'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];

export function duration(amount: number, unit: DurationUnit): InfluxQLFragment {
  if (!Number.isInteger(amount) || amount < 0) throw new Error(`influxql: duration must be a non-negative integer, got ${amount}`);
  if (!DURATION_UNITS.includes(unit)) throw new Error(`influxql: unknown duration unit ${String(unit)}`);
  return fragment(`${amount}${unit}`);
}

/** An absolute time as epoch milliseconds (`1700000000000ms`). */
export function timeMs(epochMs: number): InfluxQLFragment {
  if (!Number.isFinite(epochMs)) throw new Error(`influxql: time must be finite, got ${epochMs}`);
  return fragment(`${Math.trunc(epochMs)}ms`);
}

/** `(tag = 'a' OR tag = 'b')`; an empty list matches nothing (`false` is not InfluxQL, so an impossible time range). */
export function anyOf(tag: string, values: readonly string[]): InfluxQLFragment {
  if (values.length === 0) return fragment('time < 0');
  return fragment(`(${values.map((v) => `${quoteIdentifier(tag)} = ${quoteString(v)}`).join(' OR ')})`);
}

function literal(v: unknown): string {
  if (isFragment(v)) return v.text;
  if (typeof v === 'string') return quoteString(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`influxql: number must be finite, got ${v}`);
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return quoteString(v.toISOString());
  throw new Error(`influxql: unsupported value of type ${typeof v}`);
}

export type InfluxQLValue = string | number | bigint | boolean | Date | InfluxQLFragment;

/** Tagged template: interpolated strings become escaped literals; use ident()/raw() for the rest. */
export function influxql(strings: TemplateStringsArray, ...values: InfluxQLValue[]): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += literal(v) + (strings[i + 1] ?? '');
  });
  return out;
}
