import { describe, expect, it } from 'vitest';
import { windowMeanQuery } from './influxql';

describe('alerter window queries', () => {
  it('builds a grouped window mean with a sample count', () => {
    expect(
      windowMeanQuery({ measurement: 'reseller_rate', fields: ['in_bps', 'out_bps'], groupBy: ['isp', 'reseller'], fromMs: 1000, toMs: 61000.7 }),
    ).toBe(
      'SELECT mean("in_bps") AS "mean_in_bps", mean("out_bps") AS "mean_out_bps", count("in_bps") AS "samples" FROM "reseller_rate" WHERE time >= 1000ms AND time < 61000ms GROUP BY "isp", "reseller"',
    );
  });

  it.each([
    ["a'b", `SELECT mean("in_bps") AS "mean_in_bps", count("in_bps") AS "samples" FROM "uplink_rate" WHERE time >= 0ms AND time < 1ms AND "isp" = 'a\\'b'`],
    ["x' OR 1=1 --", `SELECT mean("in_bps") AS "mean_in_bps", count("in_bps") AS "samples" FROM "uplink_rate" WHERE time >= 0ms AND time < 1ms AND "isp" = 'x\\' OR 1=1 --'`],
  ])('escapes tag filter value %s', (value, expected) => {
    expect(windowMeanQuery({ measurement: 'uplink_rate', fields: ['in_bps'], groupBy: [], fromMs: 0, toMs: 1, where: { isp: value } })).toBe(expected);
  });

  it('escapes identifiers', () => {
    expect(windowMeanQuery({ measurement: 'we"ird', fields: ['in_bps'], groupBy: ['t"ag'], fromMs: 0, toMs: 1 })).toBe(
      'SELECT mean("in_bps") AS "mean_in_bps", count("in_bps") AS "samples" FROM "we\\"ird" WHERE time >= 0ms AND time < 1ms GROUP BY "t\\"ag"',
    );
  });

  it.each([
    ['no fields', { fields: [] as string[], fromMs: 0 }, /at least one field/],
    ['a non-finite bound', { fields: ['in_bps'], fromMs: Number.NaN }, /finite/],
  ])('rejects %s', (_name, over, message) => {
    expect(() => windowMeanQuery({ measurement: 'm', groupBy: [], toMs: 1, ...over })).toThrow(message);
  });
});
