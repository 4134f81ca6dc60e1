import type { SeriesPoint } from '../contracts';

/*
 * SeriesPoint → InfluxDB line protocol (millisecond precision). Written here
 * rather than with the client's Point class because Point.intField goes
 * through parseInt, which silently rounds 64-bit counters above 2^53.
 */

// Line protocol has no escape for a newline: one inside a tag would split the
// point in two, so it is replaced rather than escaped.
const NEWLINES = /[\r\n]+/g;

export function escapeMeasurement(name: string): string {
  return name.replace(NEWLINES, ' ').replace(/[\\, ]/g, (c) => `\\${c}`);
}

/** Tag keys, tag values and field keys. */
export function escapeKey(name: string): string {
  return name.replace(NEWLINES, ' ').replace(/[\\,= ]/g, (c) => `\\${c}`);
}

function fieldValue(v: number | bigint | boolean): string | undefined {
  if (typeof v === 'bigint') return `${v}i`;
  if (typeof v === 'boolean') return v ? 't' : 'f';
  // NaN/Infinity have no line-protocol form; one bad field must not reject the batch.
  return Number.isFinite(v) ? String(v) : undefined;
}

/** One point as a line, or undefined when it has no writable field. */
export function toLine(point: SeriesPoint): string | undefined {
  let tags = '';
  for (const key of Object.keys(point.tags).sort()) {
    const value = point.tags[key];
    // An empty tag value is invalid line protocol; an absent tag means the same.
    if (value === undefined || value === '') continue;
    tags += `,${escapeKey(key)}=${escapeKey(value)}`;
  }
  let fields = '';
  for (const key of Object.keys(point.fields).sort()) {
    const value = fieldValue(point.fields[key] as number | bigint | boolean);
    if (value === undefined) continue;
    fields += `${fields ? ',' : ''}${escapeKey(key)}=${value}`;
  }
  if (!fields) return undefined;
  return `${escapeMeasurement(point.measurement)}${tags} ${fields} ${Math.trunc(point.timestampMs)}`;
}
