import { describe, expect, it } from 'vitest';
import type { RateResult } from '../contracts';
import { deviceTotal, ResellerAggregator, type ResellerAggregate } from './resellerAggregator';

const rate = (inMbps: number, outMbps: number): RateResult => ({
  kind: 'rate',
  inBps: inMbps * 1e6,
  outBps: outMbps * 1e6,
  inDeltaOctets: 0n,
  outDeltaOctets: 0n,
  elapsedSeconds: 60,
});
const gap = (reason: 'counter_reset' | 'overspeed'): RateResult => ({ kind: 'gap', reason });

function brief(a: ResellerAggregate): string {
  return a.kind === 'rate'
    ? `${a.resellerId} rate in=${a.inBps / 1e6} out=${a.outBps / 1e6} util=${a.utilizationIn.toFixed(2)}/${a.utilizationOut.toFixed(2)} @${a.wallMs}`
    : `${a.resellerId} gap ${a.reason} missing=[${a.missingBindingIds.join(',')}] @${a.wallMs}`;
}

type Step = ['add', string, RateResult, number] | ['expire', number];

const specs = [
  { resellerId: 'cedar', committedMbps: 300, bindingIds: ['c1', 'c2'] },
  { resellerId: 'acme', committedMbps: 200, bindingIds: ['a1'] },
];

const cases: Array<[name: string, steps: Step[], expected: string[]]> = [
  ['single VLAN reseller emits every result', [['add', 'a1', rate(50, 100), 1000]], ['acme rate in=50 out=100 util=0.25/0.50 @1000']],
  [
    'two VLANs polled at different moments sum when both reported',
    [
      ['add', 'c1', rate(100, 10), 1000],
      ['add', 'c2', rate(50, 20), 31000],
    ],
    ['cedar rate in=150 out=30 util=0.50/0.10 @31000'],
  ],
  [
    'one VLAN in a gap makes the whole reseller a gap (a partial sum looks like a drop)',
    [
      ['add', 'c1', rate(100, 10), 1000],
      ['add', 'c2', gap('counter_reset'), 2000],
    ],
    ['cedar gap counter_reset missing=[] @2000'],
  ],
  [
    'a VLAN reporting twice before the other closes the round as incomplete',
    [
      ['add', 'c1', rate(100, 10), 1000],
      ['add', 'c1', rate(100, 10), 61000],
      ['add', 'c2', rate(50, 20), 62000],
    ],
    ['cedar gap incomplete missing=[c2] @61000', 'cedar rate in=150 out=30 util=0.50/0.10 @62000'],
  ],
  [
    'expire closes a round whose other device stopped answering',
    [
      ['add', 'c1', rate(100, 10), 1000],
      ['expire', 50000],
      ['expire', 91000],
    ],
    ['cedar gap incomplete missing=[c2] @91000'],
  ],
  ['results of unknown bindings are ignored', [['add', 'zz', rate(1, 1), 1000]], []],
];

describe('ResellerAggregator', () => {
  it.each(cases)('%s', (_name, steps, expected) => {
    const agg = new ResellerAggregator(90_000);
    agg.setResellers(specs);
    const out: string[] = [];
    for (const step of steps) {
      const produced = step[0] === 'add' ? agg.add(step[1], step[2], step[3]) : agg.expire(step[1]);
      out.push(...produced.map(brief));
    }
    expect(out).toEqual(expected);
  });

  it('a changed VLAN set restarts the open round', () => {
    const agg = new ResellerAggregator(90_000);
    agg.setResellers(specs);
    agg.add('c1', rate(100, 10), 1000);
    agg.setResellers([{ resellerId: 'cedar', committedMbps: 300, bindingIds: ['c1', 'c3'] }]);
    expect(agg.add('c3', rate(1, 1), 2000)).toEqual([]);
    expect(agg.add('c1', rate(2, 2), 3000).map(brief)).toEqual(['cedar rate in=3 out=3 util=0.01/0.01 @3000']);
  });
});

describe('deviceTotal', () => {
  const results = new Map<string, RateResult>([
    ['a', rate(10, 20)],
    ['b', rate(5, 5)],
    ['g', gap('overspeed')],
  ]);
  it.each([
    ['all rates sum', ['a', 'b'], { kind: 'rate', inBps: 15e6, outBps: 25e6, vlans: 2 }],
    ['a gap makes the total a gap', ['a', 'g'], { kind: 'gap', reason: 'overspeed' }],
    ['a missing VLAN makes it incomplete', ['a', 'x'], { kind: 'gap', reason: 'incomplete' }],
    ['no bound VLAN', [], { kind: 'gap', reason: 'unbound' }],
  ] as const)('%s', (_name, ids, expected) => {
    expect(deviceTotal(ids, results)).toEqual(expected);
  });
});
