import { describe, expect, it } from 'vitest';
import type { InterfaceSample, RateResult } from '../contracts';
import { computeRate, RateEngine } from './rateEngine';

/** A 1 Gb/s HC interface polled at t = 0; override what a case is about. */
function sample(over: Partial<InterfaceSample> = {}): InterfaceSample {
  return {
    deviceId: 'dev-1',
    deviceName: 'edge-1',
    ifIndex: 10,
    ifName: 'ether1.10',
    ifHighSpeedMbps: 1000,
    operStatus: 1,
    inOctets: 1_000_000n,
    outOctets: 2_000_000n,
    counters64: true,
    discontinuityTicks: 0,
    sysUpTimeTicks: 100_000,
    monotonicMs: 1_000_000,
    wallMs: 1_700_000_000_000,
    ...over,
  };
}

const opts = { overspeedTolerancePercent: 5 };
const MB = 1_000_000n;
const TWO32 = 2n ** 32n;

/** `at(seconds, …)` = the same interface `seconds` later. */
function at(seconds: number, over: Partial<InterfaceSample> = {}): InterfaceSample {
  return sample({ monotonicMs: 1_000_000 + seconds * 1000, wallMs: 1_700_000_000_000 + seconds * 1000, sysUpTimeTicks: 100_000 + seconds * 100, ...over });
}

type Case = [name: string, prev: InterfaceSample | undefined, cur: InterfaceSample, expected: RateResult | { kind: 'rate'; inBps: number; outBps: number }];

const cases: Case[] = [
  // 75 MB in and 150 MB out in 60 s = 10 and 20 Mb/s.
  ['normal 64-bit', sample(), at(60, { inOctets: 1_000_000n + 75n * MB, outOctets: 2_000_000n + 150n * MB }), { kind: 'rate', inBps: 10e6, outBps: 20e6 }],
  ['idle interface is a zero rate, not a gap', sample(), at(60, {}), { kind: 'rate', inBps: 0, outBps: 0 }],
  [
    'jitter: a late response divides by the measured 61.5 s, not the nominal 60 s',
    sample(),
    at(61.5, { inOctets: 1_000_000n + 76_875_000n, outOctets: 2_000_000n }),
    { kind: 'rate', inBps: 10e6, outBps: 0 },
  ],
  [
    'jitter: an early response (58 s) as well',
    sample(),
    at(58, { inOctets: 1_000_000n + 72_500_000n, outOctets: 2_000_000n }),
    { kind: 'rate', inBps: 10e6, outBps: 0 },
  ],
  [
    '64-bit counter near 2^63 keeps full precision in the delta',
    sample({ inOctets: 2n ** 63n - 10n, outOctets: 2n ** 63n }),
    at(10, { inOctets: 2n ** 63n + 12_500_000n - 10n, outOctets: 2n ** 63n }),
    { kind: 'rate', inBps: 10e6, outBps: 0 },
  ],
  [
    '32-bit wrap once on a 100 Mb/s link',
    sample({ counters64: false, ifHighSpeedMbps: 100, inOctets: TWO32 - 25_000_000n, outOctets: 5n }),
    at(60, { counters64: false, ifHighSpeedMbps: 100, inOctets: 50_000_000n, outOctets: 5n }),
    { kind: 'rate', inBps: 10e6, outBps: 0 },
  ],
  [
    '32-bit without wrap on a 100 Mb/s link',
    sample({ counters64: false, ifHighSpeedMbps: 100, inOctets: 0n, outOctets: 0n }),
    at(60, { counters64: false, ifHighSpeedMbps: 100, inOctets: 75_000_000n, outOctets: 0n }),
    { kind: 'rate', inBps: 10e6, outBps: 0 },
  ],
  [
    '32-bit on 1 Gb/s at 60 s: 7.5 GB possible > 2^32, wraps are unknowable',
    sample({ counters64: false, inOctets: 0n, outOctets: 0n }),
    at(60, { counters64: false, inOctets: 75_000_000n, outOctets: 0n }),
    { kind: 'gap', reason: 'wrap_ambiguous' },
  ],
  [
    '32-bit going down with unknown speed is ambiguous (wrap or clear?)',
    sample({ counters64: false, ifHighSpeedMbps: 0, inOctets: 1000n, outOctets: 0n }),
    at(60, { counters64: false, ifHighSpeedMbps: 0, inOctets: 10n, outOctets: 0n }),
    { kind: 'gap', reason: 'wrap_ambiguous' },
  ],
  [
    '32-bit going up with unknown speed is a rate',
    sample({ counters64: false, ifHighSpeedMbps: 0, inOctets: 0n, outOctets: 0n }),
    at(60, { counters64: false, ifHighSpeedMbps: 0, inOctets: 75_000_000n, outOctets: 0n }),
    { kind: 'rate', inBps: 10e6, outBps: 0 },
  ],
  ['reset: sysUpTime went backwards (reboot)', sample(), at(60, { sysUpTimeTicks: 500, inOctets: 10n, outOctets: 10n }), { kind: 'gap', reason: 'counter_reset' }],
  [
    'reset wins even when counters happen to be higher',
    sample(),
    at(60, { sysUpTimeTicks: 500, inOctets: 9_000_000n, outOctets: 9_000_000n }),
    { kind: 'gap', reason: 'counter_reset' },
  ],
  ['discontinuity time changed', sample(), at(60, { discontinuityTicks: 123_456, inOctets: 5n, outOctets: 5n }), { kind: 'gap', reason: 'discontinuity' }],
  [
    'discontinuity changed even with plausible counters',
    sample(),
    at(60, { discontinuityTicks: 1, inOctets: 1_000_000n + MB, outOctets: 2_000_000n + MB }),
    { kind: 'gap', reason: 'discontinuity' },
  ],
  ['64-bit counter going down without a reboot (cleared)', sample(), at(60, { inOctets: 10n }), { kind: 'gap', reason: 'negative_delta' }],
  ['renumbering: same name, new ifIndex', sample(), at(60, { ifIndex: 42, inOctets: 999n, outOctets: 999n }), { kind: 'gap', reason: 'rebind' }],
  ['rebinding to another interface name', sample(), at(60, { ifName: 'ether1.11' }), { kind: 'gap', reason: 'rebind' }],
  ['counters switched 32 → 64 bit', sample({ counters64: false, ifHighSpeedMbps: 10 }), at(60, { ifHighSpeedMbps: 10 }), { kind: 'gap', reason: 'rebind' }],
  [
    // 1 Gb/s × 60 s = 7.5e9 octets; × 1.05 = 7.875e9 is the limit.
    'over-speed: 8e9 octets in 60 s on 1 Gb/s',
    sample(),
    at(60, { inOctets: 1_000_000n + 8_000_000_000n }),
    { kind: 'gap', reason: 'overspeed' },
  ],
  [
    'within tolerance: 7.8e9 octets in 60 s on 1 Gb/s (4 % over line rate)',
    sample({ inOctets: 0n, outOctets: 0n }),
    at(60, { inOctets: 7_800_000_000n, outOctets: 0n }),
    { kind: 'rate', inBps: 1.04e9, outBps: 0 },
  ],
  ['over-speed on the out direction alone', sample(), at(10, { outOctets: 2_000_000n + 2_000_000_000n }), { kind: 'gap', reason: 'overspeed' }],
  ['first sample after start', undefined, sample(), { kind: 'gap', reason: 'first_sample' }],
  ['a duplicate response (no time elapsed)', sample(), sample(), { kind: 'gap', reason: 'negative_delta' }],
];

describe('computeRate', () => {
  it.each(cases)('%s', (_name, prev, cur, expected) => {
    const got = computeRate(prev, cur, opts);
    if (expected.kind === 'gap') {
      expect(got).toEqual(expected);
      return;
    }
    expect(got.kind).toBe('rate');
    if (got.kind !== 'rate') return;
    expect(got.inBps).toBeCloseTo(expected.inBps, 3);
    expect(got.outBps).toBeCloseTo(expected.outBps, 3);
  });

  it('reports the octet deltas and the measured elapsed time', () => {
    const got = computeRate(sample(), at(61.5, { inOctets: 1_000_123n, outOctets: 2_000_456n }), opts);
    expect(got).toMatchObject({ kind: 'rate', inDeltaOctets: 123n, outDeltaOctets: 456n, elapsedSeconds: 61.5 });
  });
});

describe('RateEngine', () => {
  it('keys state per binding: renumbering gives one gap and the series continues without a spike', () => {
    const engine = new RateEngine(opts);
    const seq = [
      sample({ inOctets: 0n, outOctets: 0n }),
      at(60, { inOctets: 75n * MB, outOctets: 0n }),
      // The router renumbered: same counters continue under ifIndex 42.
      at(120, { ifIndex: 42, inOctets: 150n * MB, outOctets: 0n }),
      at(180, { ifIndex: 42, inOctets: 225n * MB, outOctets: 0n }),
    ];
    const results = seq.map((s) => engine.update('vlan-a', s));
    expect(results.map((r) => (r.kind === 'rate' ? Math.round(r.inBps) : r.reason))).toEqual(['first_sample', 10_000_000, 'rebind', 10_000_000]);
  });

  it('after a reset the next interval is measured from the post-reset baseline', () => {
    const engine = new RateEngine(opts);
    engine.update('v', sample());
    expect(engine.update('v', at(60, { sysUpTimeTicks: 100, inOctets: 0n, outOctets: 0n }))).toEqual({ kind: 'gap', reason: 'counter_reset' });
    const next = engine.update('v', at(120, { sysUpTimeTicks: 6100, inOctets: 75n * MB, outOctets: 0n }));
    expect(next).toMatchObject({ kind: 'rate', inBps: 10e6, outBps: 0 });
  });

  it('after an over-speed rejection the next interval is a normal rate', () => {
    const engine = new RateEngine(opts);
    engine.update('v', sample({ inOctets: 0n, outOctets: 0n }));
    expect(engine.update('v', at(60, { inOctets: 10n ** 12n, outOctets: 0n }))).toEqual({ kind: 'gap', reason: 'overspeed' });
    expect(engine.update('v', at(120, { inOctets: 10n ** 12n + 75n * MB, outOctets: 0n }))).toMatchObject({ kind: 'rate', inBps: 10e6 });
  });

  it('bindings are independent and retain() forgets removed ones', () => {
    const engine = new RateEngine(opts);
    engine.update('a', sample());
    engine.update('b', sample({ ifIndex: 11, ifName: 'ether1.11' }));
    expect(engine.update('a', at(60))).toMatchObject({ kind: 'rate' });
    engine.retain(new Set(['a']));
    expect(engine.size).toBe(1);
    expect(engine.update('b', at(60, { ifIndex: 11, ifName: 'ether1.11' }))).toEqual({ kind: 'gap', reason: 'first_sample' });
  });
});
