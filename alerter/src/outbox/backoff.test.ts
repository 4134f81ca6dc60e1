import { describe, expect, it } from 'vitest';
import { backoffMs, RateLimiter } from './backoff';

describe('backoff', () => {
  it.each<[number, number, number]>([
    // attempt, random, expected ms (initial 1000, max 300000)
    [1, 0, 500],
    [1, 1, 1000],
    [2, 0.5, 1500],
    [3, 0, 2000],
    [10, 1, 300000],
    [30, 0, 150000],
  ])('attempt %i with random %f → %i ms', (attempt, r, expected) => {
    expect(backoffMs(attempt, 1000, 300000, () => r)).toBe(expected);
  });
});

describe('per-sender rate limit', () => {
  it.each<[number, number[]]>([
    [10, [0, 100, 200, 300]],
    [4, [0, 250, 500, 750]],
  ])('%i msg/s spaces four sends as %j ms', (rate, expected) => {
    const limiter = new RateLimiter(rate, () => 0);
    expect([0, 1, 2, 3].map(() => limiter.reserve('whatsapp:+1'))).toEqual(expected);
  });

  it('senders are limited independently', () => {
    const limiter = new RateLimiter(1, () => 0);
    expect([limiter.reserve('a'), limiter.reserve('b'), limiter.reserve('a')]).toEqual([0, 0, 1000]);
  });
});
