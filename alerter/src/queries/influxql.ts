import { ident, influxql, quoteIdentifier, raw, timeMs } from '@bandwatch/collector';

/*
 * The alerter's InfluxQL, built with the collector's pure builder
 * (collector/src/influx/influxql.ts) so identifiers and tag values are
 * escaped in exactly one place for every service.
 */

export interface WindowMeanQuery {
  measurement: string;
  fields: readonly string[];
  groupBy: readonly string[];
  fromMs: number;
  toMs: number;
  where?: Record<string, string>;
}

/**
 * Mean of each field plus the sample count of the first one over [from, to),
 * one series per group. `count` lets the caller tell "no samples" from zero.
 */
export function windowMeanQuery(q: WindowMeanQuery): string {
  if (q.fields.length === 0) throw new Error('windowMeanQuery needs at least one field');
  const selects = q.fields.map((f) => `mean(${quoteIdentifier(f)}) AS ${quoteIdentifier(`mean_${f}`)}`);
  selects.push(`count(${quoteIdentifier(q.fields[0] as string)}) AS "samples"`);
  let text = influxql`SELECT ${raw(selects.join(', '))} FROM ${ident(q.measurement)} WHERE time >= ${timeMs(q.fromMs)} AND time < ${timeMs(q.toMs)}`;
  for (const [k, v] of Object.entries(q.where ?? {})) text += influxql` AND ${ident(k)} = ${v}`;
  if (q.groupBy.length > 0) text += ` GROUP BY ${q.groupBy.map(quoteIdentifier).join(', ')}`;
  return text;
}
