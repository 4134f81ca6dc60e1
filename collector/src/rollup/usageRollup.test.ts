import { describe, expect, it } from 'vitest';
import { UsageRollup, type UsageRow } from './usageRollup';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const min = (m: number, s = 0) => T0 + m * 60_000 + s * 1000;
const base = { ispId: 'isp', resellerId: 'acme', committedMbps: 200 };

type Step = ['rate', number, number, number] | ['gap', number] | ['due', number] | ['store', number];

const cases: Array<[string, Step[], Array<Partial<UsageRow>>]> = [
  [
    'avg and max over the bucket, gaps counted apart',
    [
      ['rate', min(0, 10), 100e6, 10e6],
      ['rate', min(1, 10), 200e6, 30e6],
      ['gap', min(2, 10)],
      ['rate', min(4, 50), 300e6, 20e6],
      ['due', min(5, 2)],
    ],
    [{ bucketStartMs: T0, avgInMbps: 200, avgOutMbps: 20, maxInMbps: 300, maxOutMbps: 30, samples: 3, gapSamples: 1, committedMbps: 200 }],
  ],
  ['nothing before the boundary', [['rate', min(1), 1e6, 1e6], ['due', min(4, 59)]], []],
  [
    'a stored bucket is not emitted again',
    [['rate', min(1), 1e6, 1e6], ['store', min(5)], ['due', min(6)]],
    [],
  ],
  [
    'a late aggregate re-emits the whole bucket, never a partial one',
    [['rate', min(1), 10e6, 0], ['store', min(5)], ['rate', min(4, 59), 30e6, 0], ['due', min(5, 1)]],
    [{ bucketStartMs: T0, avgInMbps: 20, maxInMbps: 30, samples: 2 }],
  ],
  [
    'only gaps: zero rates with the gap count',
    [['gap', min(1)], ['gap', min(2)], ['due', min(5)]],
    [{ avgInMbps: 0, maxInMbps: 0, samples: 0, gapSamples: 2 }],
  ],
  [
    'two buckets come out in order',
    [['rate', min(6), 5e6, 0], ['rate', min(1), 1e6, 0], ['due', min(10)]],
    [{ bucketStartMs: T0, avgInMbps: 1 }, { bucketStartMs: min(5), avgInMbps: 5 }],
  ],
];

describe('UsageRollup', () => {
  it.each(cases)('%s', (_name, steps, expected) => {
    const r = new UsageRollup(300);
    let last: UsageRow[] = [];
    for (const s of steps) {
      if (s[0] === 'rate') r.addRate({ ...base, wallMs: s[1], inBps: s[2], outBps: s[3] });
      else if (s[0] === 'gap') r.addGap({ ...base, wallMs: s[1] });
      else if (s[0] === 'store') r.markStored(r.due(s[1]));
      else last = r.due(s[1]);
    }
    expect(last).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(last[i]).toMatchObject(e));
  });

  it('boundaries follow the interval', () => {
    const r = new UsageRollup(300);
    expect(r.bucketStart(min(7, 30))).toBe(min(5));
    expect(r.nextBoundary(min(5))).toBe(min(10));
  });
});
