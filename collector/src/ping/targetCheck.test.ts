import { describe, expect, it } from 'vitest';
import { JitterWindow } from './jitterWindow';
import { classifyTarget } from './targetCheck';

describe('classifyTarget', () => {
  it.each([
    ['127.0.1.10', { family: 'ipv4' }],
    ['::1', { family: 'ipv6' }],
    ['2001:db8::1', { family: 'ipv6' }],
    ['cpe-17.reseller.example', { family: 'hostname' }],
    ['router1.', { family: 'hostname' }],
    ['300.1.1.1', { error: { kind: 'invalid_address' } }],
    ['10.99.2', { error: { kind: 'invalid_address' } }],
    ['2001:db8:::1', { error: { kind: 'invalid_address' } }],
    ['10.0.0.0/24', { error: { kind: 'invalid_address' } }],
    ['not a host!', { error: { kind: 'invalid_address' } }],
    ['-bad-.example', { error: { kind: 'invalid_address' } }],
    ['', { error: { kind: 'invalid_address' } }],
    ['no-such-host.invalid', { error: { kind: 'unresolvable' } }],
  ])('%j → %j', (address, expected) => {
    expect(classifyTarget(address)).toMatchObject(expected);
  });
});

describe('JitterWindow', () => {
  it.each([
    ['one reply has no jitter', 3, [[1]], null],
    ['within one round', 3, [[1, 3, 2]], 1.5],
    ['across the round boundary', 3, [[1], [4]], 3],
    ['a round without replies breaks the chain', 3, [[1], [], [9]], null],
    ['old rounds leave the window', 2, [[0, 10], [10, 10], [10, 10]], 0],
  ] as Array<[string, number, number[][], number | null]>)('%s', (_name, rounds, seq, expected) => {
    const w = new JitterWindow(rounds);
    let v: number | null = null;
    for (const r of seq) v = w.add(r);
    expect(v).toBe(expected);
  });
});
