import type { SeriesPoint } from '../contracts';

/*
 * SeriesPoint → InfluxDB line protocol (millisecond precision). Written here
 * rather than with the client's Point class because Point.intField goes
 * through parseInt, which silently rounds 64-bit counters above 2^53.
 */

// Line protocol has no escape for a newline: one inside a tag would split the
// point in two, so it is replaced rather than escaped.
const NEWLINES = /[\r\n]+/g;

const MEASUREMENT_SPECIAL = /[\\, \r\n]/;
const KEY_SPECIAL = /[\\,= \r\n]/;

// Most names need no escaping: test first, replace only when needed.
export function escapeMeasurement(name: string): string {
  return MEASUREMENT_SPECIAL.test(name) ? name.replace(NEWLINES, ' ').replace(/[\\, ]/g, (c) => `\\${c}`) : name;
}

/** Tag keys, tag values and field keys. */
export function escapeKey(name: string): string {
  return KEY_SPECIAL.test(name) ? name.replace(NEWLINES, ' ').replace(/[\\,= ]/g, (c) => `\\${c}`) : name;
}

// Small integers (counts, state codes) are most integer fields: their text is made once.
const SMALL_INTS = Array.from({ length: 1024 }, (_, i) => `${i}i`);

function fieldValue(v: number | bigint | boolean): string | undefined {
  if (typeof v === 'bigint') return v >= 0n && v < 1024n ? (SMALL_INTS[Number(v)] as string) : `${v}i`;
  if (typeof v === 'boolean') return v ? 't' : 'f';
  // NaN/Infinity have no line-protocol form; one bad field must not reject the batch.
  return Number.isFinite(v) ? String(v) : undefined;
}

/** Keys in sorted order; producers that build objects in that order skip the sort. */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] as string) > (keys[i] as string)) return keys.sort();
  return keys;
}

// A frozen tags object cannot change, so its escaped series key (measurement
// plus sorted tags) is built once: producers that keep one frozen tags object
// per series (the ping monitor: 10k targets every round) skip the escaping.
const seriesKeys = new WeakMap<object, { measurement: string; key: string }>();

function seriesKey(measurement: string, tags: SeriesPoint['tags']): string {
  const frozen = Object.isFrozen(tags);
  if (frozen) {
    const cached = seriesKeys.get(tags);
    if (cached?.measurement === measurement) return cached.key;
  }
  let key = escapeMeasurement(measurement);
  for (const name of sortedKeys(tags)) {
    const value = tags[name];
    // An empty tag value is invalid line protocol; an absent tag means the same.
    if (value === undefined || value === '') continue;
    key += `,${escapeKey(name)}=${escapeKey(value)}`;
  }
  if (frozen) seriesKeys.set(tags, { measurement, key });
  return key;
}

// `key=` for each field key seen (escaped once); field keys are a small fixed set per measurement.
const fieldPrefixes = new Map<string, string>();
const MAX_FIELD_PREFIXES = 4096;

function fieldPrefix(key: string): string {
  let prefix = fieldPrefixes.get(key);
  if (prefix === undefined) {
    prefix = `${escapeKey(key)}=`;
    if (fieldPrefixes.size < MAX_FIELD_PREFIXES) fieldPrefixes.set(key, prefix);
  }
  return prefix;
}

// Points of one write mostly share a timestamp: its text is kept from the last line.
let lastTimestamp = NaN;
let lastTimestampText = '';

function timestampText(ms: number): string {
  const t = Math.trunc(ms);
  if (t !== lastTimestamp) {
    lastTimestamp = t;
    lastTimestampText = String(t);
  }
  return lastTimestampText;
}

/** One point as a line, or undefined when it has no writable field. */
export function toLine(point: SeriesPoint): string | undefined {
  let fields = '';
  for (const key of sortedKeys(point.fields)) {
    const value = fieldValue(point.fields[key] as number | bigint | boolean);
    if (value === undefined) continue;
    fields = fields === '' ? fieldPrefix(key) + value : `${fields},${fieldPrefix(key)}${value}`;
  }
  if (fields === '') return undefined;
  return `${seriesKey(point.measurement, point.tags)} ${fields} ${timestampText(point.timestampMs)}`;
}
