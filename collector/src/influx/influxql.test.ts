import { describe, expect, it } from 'vitest';
import { anyOf, duration, escapeRegex, ident, influxql, quoteIdentifier, quoteString, raw, timeMs } from './influxql';
import { escapeKey, escapeMeasurement, toLine } from './lineProtocol';

describe('quoteString', () => {
  it.each([
    ['plain', 'acme-net', "'acme-net'"],
    ['single quote cannot close the literal', "x' OR reseller =~ /.*/ --", "'x\\' OR reseller =~ /.*/ --'"],
    ['backslash before quote', "a\\' OR 1=1", "'a\\\\\\' OR 1=1'"],
    ['newline', 'a\nDROP DATABASE x', "'a\\nDROP DATABASE x'"],
    ['double quotes stay', 'say "hi"', '\'say "hi"\''],
    ['empty', '', "''"],
  ])('%s', (_n, input, expected) => {
    expect(quoteString(input)).toBe(expected);
  });
});

describe('quoteIdentifier', () => {
  it.each([
    ['plain', 'vlan_rate', '"vlan_rate"'],
    ['double quote', 'a"; DROP', '"a\\"; DROP"'],
    ['backslash', 'a\\b', '"a\\\\b"'],
    ['spaces and dots', 'my rp.x', '"my rp.x"'],
  ])('%s', (_n, input, expected) => {
    expect(quoteIdentifier(input)).toBe(expected);
  });
});

describe('escapeRegex', () => {
  it.each([
    ['slash cannot end the regex', 'a/b', 'a\\/b'],
    ['metacharacters', 'ether1.10|.*', 'ether1\\.10\\|\\.\\*'],
    ['anchors and groups', '^(x)$', '\\^\\(x\\)\\$'],
  ])('%s', (_n, input, expected) => {
    expect(escapeRegex(input)).toBe(expected);
  });
});

describe('influxql template', () => {
  it.each([
    [
      'tenant value becomes a literal',
      () => influxql`SELECT mean(${ident('in_bps')}) FROM ${ident('reseller_rate')} WHERE ${ident('reseller')} = ${"evil' OR 1=1"} AND time > now() - ${duration(5, 'm')}`,
      `SELECT mean("in_bps") FROM "reseller_rate" WHERE "reseller" = 'evil\\' OR 1=1' AND time > now() - 5m`,
    ],
    ['numbers, booleans, bigint', () => influxql`x = ${1.5} AND y = ${true} AND z = ${10n}`, 'x = 1.5 AND y = true AND z = 10'],
    ['time as epoch ms', () => influxql`time >= ${timeMs(1700000000000.9)}`, 'time >= 1700000000000ms'],
    ['dates as RFC3339 literal', () => influxql`time >= ${new Date(0)}`, "time >= '1970-01-01T00:00:00.000Z'"],
    ['anyOf escapes each value', () => influxql`WHERE ${anyOf('reseller', ['a', "b'c"])}`, `WHERE ("reseller" = 'a' OR "reseller" = 'b\\'c')`],
    ['anyOf of nothing matches nothing', () => influxql`WHERE ${anyOf('reseller', [])}`, 'WHERE time < 0'],
    ['raw is trusted text', () => influxql`GROUP BY ${raw('time(1m)')}`, 'GROUP BY time(1m)'],
  ])('%s', (_n, build, expected) => {
    expect(build()).toBe(expected);
  });

  it.each([
    ['NaN', () => influxql`x = ${NaN}`],
    ['negative duration', () => duration(-1, 's')],
    ['fractional duration', () => duration(1.5, 's')],
    ['infinite time', () => timeMs(Infinity)],
    ['unknown value type', () => influxql`x = ${{} as unknown as string}`],
  ])('rejects %s', (_n, build) => {
    expect(build).toThrow(/influxql/);
  });
});

describe('line protocol', () => {
  it.each([
    ['measurement', escapeMeasurement('a b,c'), 'a\\ b\\,c'],
    ['key with equals', escapeKey('a=b c,d'), 'a\\=b\\ c\\,d'],
    ['newline cannot split a point', escapeKey('x\ny'), 'x\\ y'],
  ])('escapes %s', (_n, got, expected) => {
    expect(got).toBe(expected);
  });

  it.each([
    [
      'tags sorted, empty tag dropped, int/float/bool fields',
      { measurement: 'vlan_rate', tags: { vlan: '10', isp: 'nw', ifname: '', reseller: 'acme net' }, fields: { in_bps: 1.5, in_octets: 2n ** 63n - 1n, up: true }, timestampMs: 1700000000000 },
      'vlan_rate,isp=nw,reseller=acme\\ net,vlan=10 in_bps=1.5,in_octets=9223372036854775807i,up=t 1700000000000',
    ],
    ['non-finite float dropped', { measurement: 'm', tags: {}, fields: { a: NaN, b: 2 }, timestampMs: 5 }, 'm b=2 5'],
    ['no writable field → no line', { measurement: 'm', tags: {}, fields: { a: Infinity }, timestampMs: 5 }, undefined],
  ])('%s', (_n, point, expected) => {
    expect(toLine(point)).toBe(expected);
  });

  it('a frozen tags object gives the same line as a plain one, per measurement, and unsorted fields are sorted', () => {
    const plain = { target: '127.0.0.1', reseller: 'acme net', isp: 'nw' };
    const frozen = Object.freeze({ ...plain });
    const point = (measurement: string, tags: Record<string, string>) => ({ measurement, tags, fields: { sent: 3n, loss_pct: 0 }, timestampMs: 7 });
    for (const m of ['ping', 'ping', 'other m']) {
      expect(toLine(point(m, frozen))).toBe(toLine(point(m, plain)));
    }
    expect(toLine(point('ping', frozen))).toBe('ping,isp=nw,reseller=acme\\ net,target=127.0.0.1 loss_pct=0,sent=3i 7');
    expect(toLine(point('other m', frozen))).toBe('other\\ m,isp=nw,reseller=acme\\ net,target=127.0.0.1 loss_pct=0,sent=3i 7');
  });
});
